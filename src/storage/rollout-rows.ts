/** Rows of the rollout tables as both SQL dialects return them, and their mapping to domain records. */
import type { AbortRule, RolloutCounts, RolloutDevice, RolloutDeviceState, RolloutRate, RolloutRecord, RolloutState, RolloutTarget, TimelinePoint } from '../core/rollouts.js';
import { emptyCounts } from '../core/rollouts.js';

export const ROLLOUT_COLUMNS = 'rollout_id, application_name, version, target, rate, abort_rule, state, reason, created_at, updated_at';
export const DEVICE_COLUMNS = 'endpoint_id, state, reason, offered_at, finished_at';

export interface RolloutRow {
  rollout_id: string;
  application_name: string;
  version: string;
  target: string;
  rate: string | null;
  abort_rule: string | null;
  state: string;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeviceRow {
  endpoint_id: string;
  state: string;
  reason: string | null;
  offered_at: string | null;
  finished_at: string | null;
}

export function toRollout(row: RolloutRow): RolloutRecord {
  return {
    rolloutId: row.rollout_id,
    applicationName: row.application_name,
    version: row.version,
    target: JSON.parse(row.target) as RolloutTarget,
    rate: row.rate === null ? null : (JSON.parse(row.rate) as RolloutRate),
    abort: row.abort_rule === null ? null : (JSON.parse(row.abort_rule) as AbortRule),
    state: row.state as RolloutState,
    reason: row.reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function rolloutParams(r: RolloutRecord): unknown[] {
  return [r.rolloutId, r.applicationName, r.version, JSON.stringify(r.target), r.rate === null ? null : JSON.stringify(r.rate), r.abort === null ? null : JSON.stringify(r.abort), r.state, r.reason, r.createdAt, r.updatedAt];
}

export function toDevice(row: DeviceRow): RolloutDevice {
  return { endpointId: row.endpoint_id, state: row.state as RolloutDeviceState, reason: row.reason, offeredAt: row.offered_at, finishedAt: row.finished_at };
}

export function toCounts(rows: Iterable<{ state: string; n: number | string }>): RolloutCounts {
  const counts = emptyCounts();
  for (const row of rows) if (row.state in counts) counts[row.state as RolloutDeviceState] = Number(row.n);
  return counts;
}

/** `2026-01-01T00:03:27.123Z` → `2026-01-01T00:03:00.000Z`: the minute a device finished in (ISO text, so both dialects cut it alike). */
export const MINUTE_OF = (column: string) => `substr(${column}, 1, 16) || ':00.000Z'`;

export function toTimeline(rows: Iterable<{ minute: string; applied: number | string; failed: number | string }>): TimelinePoint[] {
  return [...rows].map((r) => ({ at: r.minute, applied: Number(r.applied), failed: Number(r.failed) }));
}

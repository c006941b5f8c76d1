/**
 * Rollouts (beyond Kaa, after AWS IoT Jobs): one software version offered to a set of endpoints
 * at a rate, stopped by an abort rule when too many devices fail. Domain types shared by storage,
 * the rollout service, the REST API, the CLI and the dashboard. docs/rollouts.md.
 */
import type { EndpointFilterQuery, RolloutDeviceState, RolloutState } from './software.js';
import type { Iso } from './types.js';

export type { RolloutDeviceState, RolloutState } from './software.js';

/** Which endpoints a rollout addresses; resolved to a fixed list of endpoint IDs when it is created. */
export type RolloutTarget =
  /** Every endpoint registered under this application version. */
  | { appVersionName: string }
  /** The Endpoint List's search (the query parameters of GET /epr/api/v1/endpoints, as the CEX batch by-query takes them). */
  | { query: EndpointFilterQuery }
  | { endpointIds: string[] };

export interface RolloutRate {
  /** Devices offered per minute; the rollout offers a share of it every tick (1 s). */
  perMinute: number;
  /** After every `everySuccesses` applied devices, the rate is multiplied by `factor` (AWS IoT's exponential rate). */
  growth?: { factor: number; everySuccesses: number };
}

export interface AbortRule {
  /** Abort when more than this share of the finished devices failed (timed out counts as failed). */
  failurePercent: number;
  /** ... once at least this many devices have finished (applied, failed or timed out). */
  minAttempted: number;
  /** A device offered the update that reports nothing for this long is `timed_out`; absent: no timeout. */
  reportTimeoutSeconds?: number;
}

export type RolloutCounts = Record<RolloutDeviceState, number>;

export const ROLLOUT_DEVICE_STATES: readonly RolloutDeviceState[] = ['pending', 'offered', 'applied', 'failed', 'timed_out', 'skipped'];
export const ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused', 'completed', 'cancelled', 'aborted'];

/** Running and paused rollouts hold offers and may still change; the others are over. */
export const OPEN_ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused'];

export function emptyCounts(): RolloutCounts {
  return { pending: 0, offered: 0, applied: 0, failed: 0, timed_out: 0, skipped: 0 };
}

export interface RolloutRecord {
  rolloutId: string;
  applicationName: string;
  version: string;
  target: RolloutTarget;
  rate: RolloutRate | null;
  abort: AbortRule | null;
  state: RolloutState;
  /** Why it is in its state, in words ("aborted: 31 of 100 devices failed (31 %), above the 10 % limit"). */
  reason: string | null;
  createdAt: Iso;
  updatedAt: Iso;
}

/** A rollout as the REST API and the dashboard show it. */
export interface Rollout extends RolloutRecord {
  counts: RolloutCounts;
}

export interface RolloutDevice {
  endpointId: string;
  state: RolloutDeviceState;
  /** Why it was skipped, failed or timed out. */
  reason: string | null;
  offeredAt: Iso | null;
  finishedAt: Iso | null;
}

/** What a device's report (or its silence, or its endpoint's deletion: `skipped`) made of its part in a rollout. */
export interface DeviceOutcome {
  endpointId: string;
  state: 'applied' | 'failed' | 'timed_out' | 'skipped';
  reason: string | null;
  at: Iso;
}

/** One minute of a rollout's chart: devices that finished in it (timed out counts as failed). */
export interface TimelinePoint {
  /** Start of the minute (ISO, seconds zero). */
  at: Iso;
  applied: number;
  failed: number;
}

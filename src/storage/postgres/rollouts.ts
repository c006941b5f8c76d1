import type { DeviceOutcome, RolloutCounts, RolloutDevice, RolloutRecord, RolloutState, TimelinePoint } from '../../core/rollouts.js';
import type { Iso, Page } from '../../core/types.js';
import { DEVICE_COLUMNS, MINUTE_OF, ROLLOUT_COLUMNS, type DeviceRow, type RolloutRow, rolloutParams, toCounts, toDevice, toRollout, toTimeline } from '../rollout-rows.js';
import type { NewRolloutDevice, RolloutDeviceQuery, RolloutQuery, RolloutStorage } from '../rollouts.js';
import type { PoolSettings } from './connection.js';
import { ROLLOUT_MIGRATIONS } from './rollouts-schema.js';
import { PoolStore, StorePool } from './store-pool.js';

const QUALIFIED_ROLLOUT_COLUMNS = ROLLOUT_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ');

/**
 * Rollouts in PostgreSQL, shared by every node: one drives each rollout (its lease in the row),
 * any may pause, resume or cancel it. What SQLite does row by row in one transaction is one
 * set-based statement here (`unnest` arrays): a fleet's offers or outcomes cost one round trip.
 * Every state rule is a condition of its statement, so nodes racing on a row cannot both win.
 */
class PostgresRolloutStorage extends PoolStore implements RolloutStorage {
  insertRollout(record: RolloutRecord, devices: readonly NewRolloutDevice[]): Promise<void> {
    return this.db.transaction(async (client) => {
      await client.query(`INSERT INTO rollouts (${ROLLOUT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, rolloutParams(record));
      // In slices: one statement's arrays stay a few MB however large the fleet.
      for (let start = 0; start < devices.length; start += 20_000) {
        const slice = devices.slice(start, start + 20_000);
        await client.query(
          `INSERT INTO rollout_devices (rollout_id, seq, endpoint_id, state, reason)
           SELECT $1, $2::int + d.ord::int, d.endpoint_id, d.state, d.reason
           FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS d(endpoint_id, state, reason, ord)`,
          [record.rolloutId, start, slice.map((d) => d.endpointId), slice.map((d) => d.state), slice.map((d) => d.reason)],
        );
      }
    });
  }

  async getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    const row = (await this.query<RolloutRow>(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE rollout_id = $1`, [rolloutId])).rows[0];
    return row && toRollout(row);
  }

  async listRollouts(query: RolloutQuery): Promise<Page<RolloutRecord>> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.applicationName !== undefined) where.push(`application_name = $${values.push(query.applicationName)}`);
    if (query.states !== undefined && query.states.length > 0) where.push(`state = ANY($${values.push(query.states)}::text[])`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await this.query<{ n: string }>(`SELECT count(*) AS n FROM rollouts ${clause}`, values)).rows[0]!.n;
    const { rows } = await this.query<RolloutRow>(
      `SELECT ${ROLLOUT_COLUMNS} FROM rollouts ${clause} ORDER BY created_at DESC, rollout_id LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, query.limit, query.offset],
    );
    return { totalElements: Number(total), content: rows.map(toRollout) };
  }

  async setState(rolloutId: string, from: readonly RolloutState[], to: RolloutState, reason: string | null, at: Iso): Promise<RolloutRecord | undefined> {
    const { rows } = await this.query<RolloutRow>(
      `UPDATE rollouts r SET state = $3, reason = $4, updated_at = $5 WHERE rollout_id = $1 AND state = ANY($2::text[]) RETURNING ${QUALIFIED_ROLLOUT_COLUMNS}`,
      [rolloutId, from, to, reason, at],
    );
    return rows[0] && toRollout(rows[0]);
  }

  async counts(rolloutId: string): Promise<RolloutCounts> {
    const { rows } = await this.query<{ state: string; n: string }>('SELECT state, count(*) AS n FROM rollout_devices WHERE rollout_id = $1 GROUP BY state', [rolloutId]);
    return toCounts(rows);
  }

  async pendingDevices(rolloutId: string, limit: number): Promise<string[]> {
    const { rows } = await this.query<{ endpoint_id: string }>("SELECT endpoint_id FROM rollout_devices WHERE rollout_id = $1 AND state = 'pending' ORDER BY seq LIMIT $2", [rolloutId, limit]);
    return rows.map((r) => r.endpoint_id);
  }

  async openOffers(rolloutId: string): Promise<Array<{ endpointId: string; offeredAt: Iso }>> {
    const { rows } = await this.query<{ endpoint_id: string; offered_at: string }>(
      "SELECT endpoint_id, offered_at FROM rollout_devices WHERE rollout_id = $1 AND state = 'offered' ORDER BY seq",
      [rolloutId],
    );
    return rows.map((r) => ({ endpointId: r.endpoint_id, offeredAt: r.offered_at }));
  }

  async markOffered(rolloutId: string, endpointIds: readonly string[], at: Iso): Promise<string[]> {
    if (endpointIds.length === 0) return [];
    const { rows } = await this.query<{ endpoint_id: string }>(
      "UPDATE rollout_devices SET state = 'offered', offered_at = $3 WHERE rollout_id = $1 AND endpoint_id = ANY($2::text[]) AND state = 'pending' RETURNING endpoint_id",
      [rolloutId, endpointIds, at],
    );
    const changed = new Set(rows.map((r) => r.endpoint_id));
    return endpointIds.filter((id) => changed.has(id));
  }

  async finishDevices(rolloutId: string, outcomes: readonly DeviceOutcome[]): Promise<DeviceOutcome[]> {
    // One UPDATE touches a row once: the first outcome of a device wins, as it would one by one.
    const first = new Map<string, DeviceOutcome>();
    for (const o of outcomes) if (!first.has(o.endpointId)) first.set(o.endpointId, o);
    if (first.size === 0) return [];
    const list = [...first.values()];
    const { rows } = await this.query<{ endpoint_id: string }>(
      `UPDATE rollout_devices d SET state = o.state, reason = o.reason, finished_at = o.at
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS o(endpoint_id, state, reason, at)
       WHERE d.rollout_id = $1 AND d.endpoint_id = o.endpoint_id AND (d.state = 'offered' OR (d.state = 'pending' AND o.state IN ('applied', 'skipped')))
       RETURNING d.endpoint_id`,
      [rolloutId, list.map((o) => o.endpointId), list.map((o) => o.state), list.map((o) => o.reason), list.map((o) => o.at)],
    );
    const changed = new Set(rows.map((r) => r.endpoint_id));
    return list.filter((o) => changed.has(o.endpointId));
  }

  async timeOut(rolloutId: string, offeredBefore: Iso, at: Iso, reason: string): Promise<string[]> {
    const { rows } = await this.query<{ endpoint_id: string }>(
      "UPDATE rollout_devices SET state = 'timed_out', reason = $4, finished_at = $3 WHERE rollout_id = $1 AND state = 'offered' AND offered_at < $2 RETURNING endpoint_id",
      [rolloutId, offeredBefore, at, reason],
    );
    return rows.map((r) => r.endpoint_id);
  }

  async queryDevices(query: RolloutDeviceQuery): Promise<Page<RolloutDevice>> {
    const values: unknown[] = [query.rolloutId];
    let clause = 'rollout_id = $1';
    if (query.states !== undefined && query.states.length > 0) clause += ` AND state = ANY($${values.push(query.states)}::text[])`;
    const total = (await this.query<{ n: string }>(`SELECT count(*) AS n FROM rollout_devices WHERE ${clause}`, values)).rows[0]!.n;
    const { rows } = await this.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM rollout_devices WHERE ${clause} ORDER BY seq LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, query.limit, query.offset],
    );
    return { totalElements: Number(total), content: rows.map(toDevice) };
  }

  async timeline(rolloutId: string): Promise<TimelinePoint[]> {
    const { rows } = await this.query<{ minute: string; applied: string; failed: string }>(
      `SELECT ${MINUTE_OF('finished_at')} AS minute, count(*) FILTER (WHERE state = 'applied') AS applied, count(*) FILTER (WHERE state IN ('failed', 'timed_out')) AS failed
       FROM rollout_devices WHERE rollout_id = $1 AND finished_at IS NOT NULL GROUP BY minute ORDER BY minute`,
      [rolloutId],
    );
    return toTimeline(rows);
  }

  async claimRollouts(nodeId: string, now: Iso, leaseUntil: Iso): Promise<string[]> {
    // Row locks make the condition hold per row: of two nodes racing for an orphan, the second
    // re-checks it after the first commits and finds it taken.
    const { rows } = await this.query<{ rollout_id: string }>(
      `UPDATE rollouts SET driver_node = $1, lease_until = $2
       WHERE state IN ('running', 'paused') AND (driver_node IS NULL OR driver_node = $1 OR lease_until < $3) RETURNING rollout_id`,
      [nodeId, leaseUntil, now],
    );
    return rows.map((r) => r.rollout_id);
  }

  async releaseRollout(rolloutId: string, nodeId: string): Promise<void> {
    await this.query('UPDATE rollouts SET driver_node = NULL, lease_until = NULL WHERE rollout_id = $1 AND driver_node = $2', [rolloutId, nodeId]);
  }
}

/** Opens the rollout tables in the database at `url`, creating or migrating them. */
export async function openPostgresRolloutStorage(options: PoolSettings): Promise<RolloutStorage> {
  return new PostgresRolloutStorage(await StorePool.open({ ...options, maxConnections: options.maxConnections ?? 3 }, ROLLOUT_MIGRATIONS));
}

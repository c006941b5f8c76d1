import type { Database as Db, Statement } from 'better-sqlite3';
import type { DeviceOutcome, RolloutCounts, RolloutDevice, RolloutRecord, RolloutState, TimelinePoint } from '../../core/rollouts.js';
import type { Iso, Page } from '../../core/types.js';
import { DEVICE_COLUMNS, MINUTE_OF, ROLLOUT_COLUMNS, type DeviceRow, type RolloutRow, rolloutParams, toCounts, toDevice, toRollout, toTimeline } from '../rollout-rows.js';
import type { NewRolloutDevice, RolloutDeviceQuery, RolloutQuery, RolloutStorage } from '../rollouts.js';
import type { SynchronousMode } from './connection.js';
import { OwnFileStore, openOwnFileStore } from './own-file-store.js';

/**
 * Schema of rollouts.db. A file of its own beside tether.db and control.db: SQLite has one writer
 * per file, and a fleet's outcomes committing here never wait for the other writers. Append only.
 */
const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE rollouts (
    rollout_id        TEXT PRIMARY KEY,
    application_name  TEXT NOT NULL,
    version           TEXT NOT NULL,
    target            TEXT NOT NULL,
    rate              TEXT,
    abort_rule        TEXT,
    state             TEXT NOT NULL,
    reason            TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    -- the node that drives it and until when (docs/rollouts.md, "Across nodes")
    driver_node       TEXT,
    lease_until       TEXT
  ) WITHOUT ROWID;
  CREATE INDEX rollouts_by_application ON rollouts(application_name, created_at);
  CREATE INDEX rollouts_by_created ON rollouts(created_at);
  CREATE INDEX rollouts_open ON rollouts(state) WHERE state IN ('running', 'paused');

  CREATE TABLE rollout_devices (
    rollout_id   TEXT NOT NULL,
    -- the rollout's order: devices are offered by it
    seq          INTEGER NOT NULL,
    endpoint_id  TEXT NOT NULL,
    state        TEXT NOT NULL,
    reason       TEXT,
    offered_at   TEXT,
    finished_at  TEXT,
    PRIMARY KEY (rollout_id, endpoint_id)
  ) WITHOUT ROWID;
  CREATE INDEX rollout_devices_by_state ON rollout_devices(rollout_id, state, seq);
  CREATE INDEX rollout_devices_by_seq ON rollout_devices(rollout_id, seq);
  CREATE INDEX rollout_devices_finished ON rollout_devices(rollout_id, finished_at) WHERE finished_at IS NOT NULL;
  `,
];

export interface SqliteRolloutOptions {
  file: string;
  synchronous?: SynchronousMode;
}

export function openSqliteRolloutStorage(options: SqliteRolloutOptions): Promise<RolloutStorage> {
  return openOwnFileStore(options.file, options.synchronous, (db) => new SqliteRolloutStorage(db));
}

/** State changes of 10,000 devices cost a handful of commits (OwnFileStore's group commit). */
class SqliteRolloutStorage extends OwnFileStore<ReturnType<typeof prepare>> implements RolloutStorage {
  constructor(db: Db) {
    super(db, { fileName: 'rollouts.db', migrations: MIGRATIONS, prepare });
  }

  insertRollout(record: RolloutRecord, devices: readonly NewRolloutDevice[]): Promise<void> {
    return this.write(() => {
      const s = this.st();
      s.insertRollout.run(...rolloutParams(record));
      let seq = 0;
      for (const d of devices) s.insertDevice.run(record.rolloutId, ++seq, d.endpointId, d.state, d.reason);
    });
  }

  async getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    const row = this.st().getRollout.get(rolloutId);
    return row && toRollout(row);
  }

  async listRollouts(query: RolloutQuery): Promise<Page<RolloutRecord>> {
    this.st();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.applicationName !== undefined) {
      where.push('application_name = ?');
      params.push(query.applicationName);
    }
    if (query.states !== undefined && query.states.length > 0) {
      where.push(`state IN (${query.states.map(() => '?').join(',')})`);
      params.push(...query.states);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM rollouts ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts ${clause} ORDER BY created_at DESC, rollout_id LIMIT ? OFFSET ?`).all(...params, query.limit, query.offset) as RolloutRow[];
    return { totalElements: total, content: rows.map(toRollout) };
  }

  setState(rolloutId: string, from: readonly RolloutState[], to: RolloutState, reason: string | null, at: Iso): Promise<RolloutRecord | undefined> {
    return this.write(() => {
      const s = this.st();
      const row = s.getRollout.get(rolloutId);
      if (!row || !from.includes(row.state as RolloutState)) return undefined;
      s.setState.run(to, reason, at, rolloutId);
      return toRollout({ ...row, state: to, reason, updated_at: at });
    });
  }

  async counts(rolloutId: string): Promise<RolloutCounts> {
    return toCounts(this.st().counts.all(rolloutId));
  }

  async pendingDevices(rolloutId: string, limit: number): Promise<string[]> {
    return this.st().pending.all(rolloutId, limit).map((r) => r.endpoint_id);
  }

  async openOffers(rolloutId: string): Promise<Array<{ endpointId: string; offeredAt: Iso }>> {
    return this.st().openOffers.all(rolloutId).map((r) => ({ endpointId: r.endpoint_id, offeredAt: r.offered_at }));
  }

  markOffered(rolloutId: string, endpointIds: readonly string[], at: Iso): Promise<string[]> {
    return this.write(() => {
      const s = this.st();
      return endpointIds.filter((id) => s.offer.run(at, rolloutId, id).changes > 0);
    });
  }

  finishDevices(rolloutId: string, outcomes: readonly DeviceOutcome[]): Promise<DeviceOutcome[]> {
    return this.write(() => {
      const s = this.st();
      return outcomes.filter((o) => s.finish.run(o.state, o.reason, o.at, rolloutId, o.endpointId, o.state).changes > 0);
    });
  }

  timeOut(rolloutId: string, offeredBefore: Iso, at: Iso, reason: string): Promise<string[]> {
    return this.write(() => this.st().timeOut.all(reason, at, rolloutId, offeredBefore).map((r) => r.endpoint_id));
  }

  async queryDevices(query: RolloutDeviceQuery): Promise<Page<RolloutDevice>> {
    this.st();
    const params: unknown[] = [query.rolloutId];
    let clause = 'rollout_id = ?';
    if (query.states !== undefined && query.states.length > 0) {
      clause += ` AND state IN (${query.states.map(() => '?').join(',')})`;
      params.push(...query.states);
    }
    const total = (this.db.prepare(`SELECT count(*) AS n FROM rollout_devices WHERE ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM rollout_devices WHERE ${clause} ORDER BY seq LIMIT ? OFFSET ?`).all(...params, query.limit, query.offset) as DeviceRow[];
    return { totalElements: total, content: rows.map(toDevice) };
  }

  async timeline(rolloutId: string): Promise<TimelinePoint[]> {
    return toTimeline(this.st().timeline.all(rolloutId));
  }

  claimRollouts(nodeId: string, now: Iso, leaseUntil: Iso): Promise<string[]> {
    return this.write(() => this.st().claim.all(nodeId, leaseUntil, nodeId, now).map((r) => r.rollout_id));
  }

  releaseRollout(rolloutId: string, nodeId: string): Promise<void> {
    return this.write(() => {
      this.st().release.run(rolloutId, nodeId);
    });
  }
}

function prepare(db: Db) {
  return {
    insertRollout: db.prepare(`INSERT INTO rollouts (${ROLLOUT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertDevice: db.prepare('INSERT INTO rollout_devices (rollout_id, seq, endpoint_id, state, reason) VALUES (?, ?, ?, ?, ?)'),
    getRollout: db.prepare(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE rollout_id = ?`) as Statement<[string], RolloutRow>,
    setState: db.prepare('UPDATE rollouts SET state = ?, reason = ?, updated_at = ? WHERE rollout_id = ?'),
    counts: db.prepare('SELECT state, count(*) AS n FROM rollout_devices WHERE rollout_id = ? GROUP BY state') as Statement<[string], { state: string; n: number }>,
    pending: db.prepare("SELECT endpoint_id FROM rollout_devices WHERE rollout_id = ? AND state = 'pending' ORDER BY seq LIMIT ?") as Statement<[string, number], { endpoint_id: string }>,
    openOffers: db.prepare("SELECT endpoint_id, offered_at FROM rollout_devices WHERE rollout_id = ? AND state = 'offered' ORDER BY seq") as Statement<[string], { endpoint_id: string; offered_at: string }>,
    offer: db.prepare("UPDATE rollout_devices SET state = 'offered', offered_at = ? WHERE rollout_id = ? AND endpoint_id = ? AND state = 'pending'"),
    // A pending device that reports the version needs no offer any more (nor one whose endpoint is gone); finished devices are final.
    finish: db.prepare(
      "UPDATE rollout_devices SET state = ?, reason = ?, finished_at = ? WHERE rollout_id = ? AND endpoint_id = ? AND (state = 'offered' OR (state = 'pending' AND ? IN ('applied', 'skipped')))",
    ),
    timeOut: db.prepare(
      "UPDATE rollout_devices SET state = 'timed_out', reason = ?, finished_at = ? WHERE rollout_id = ? AND state = 'offered' AND offered_at < ? RETURNING endpoint_id",
    ) as Statement<[string, string, string, string], { endpoint_id: string }>,
    timeline: db.prepare(
      `SELECT ${MINUTE_OF('finished_at')} AS minute, sum(state = 'applied') AS applied, sum(state IN ('failed', 'timed_out')) AS failed
       FROM rollout_devices WHERE rollout_id = ? AND finished_at IS NOT NULL GROUP BY minute ORDER BY minute`,
    ) as Statement<[string], { minute: string; applied: number; failed: number }>,
    claim: db.prepare(
      `UPDATE rollouts SET driver_node = ?, lease_until = ?
       WHERE state IN ('running', 'paused') AND (driver_node IS NULL OR driver_node = ? OR lease_until < ?) RETURNING rollout_id`,
    ) as Statement<[string, string, string, string], { rollout_id: string }>,
    release: db.prepare('UPDATE rollouts SET driver_node = NULL, lease_until = NULL WHERE rollout_id = ? AND driver_node = ?'),
  };
}

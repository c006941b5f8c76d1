import type pg from 'pg';
import { errors } from '../../core/errors.js';
import type { Iso, Metadata, MetadataChange } from '../../core/types.js';
import { applyChange } from '../rows/metadata.js';
import { isConnectionError, mapUniqueViolation } from './constraint-errors.js';
import { GroupCommit } from './group-commit.js';
import { pgIndexRowOf } from './rows.js';

/** A write that is not on the hot path: runs in the batch transaction inside its own savepoint. */
export type Statement = (client: pg.PoolClient) => Promise<unknown>;

type Job =
  | { kind: 'statement'; run: Statement; mapError?: (err: unknown) => never }
  | { kind: 'change'; endpointId: string; change: MetadataChange; at: Iso }
  | { kind: 'seen'; endpointId: string; at: Iso }
  | { kind: 'connectivity'; endpointId: string; connected: boolean; at: Iso; nodeId: string | null };

interface Pending {
  job: Job;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  settled?: { ok: true; value: unknown } | { ok: false; err: unknown };
}

export interface BatchObserver {
  /** Told after every commit attempt: how many writes, how long, and whether it committed. */
  (batch: { size: number; seconds: number; ok: boolean }): void;
}

/**
 * Group commit for PostgreSQL. Writes arriving while a transaction runs wait, and the next
 * transaction takes them all: one round of statements and one WAL flush for the lot. The hot paths
 * become one set-based statement each per batch, whatever their number: the metadata documents
 * (read FOR UPDATE, changed in order here, written back with unnest arrays), their index rows,
 * lastSeen and connectivity. Rare writes (applications, tokens, endpoints, settings) run one by one
 * in a savepoint, so a failing one (a unique violation) rejects alone and the others commit.
 *
 * Durability: a caller's promise settles only after COMMIT returned. If the connection is lost or
 * the commit fails, every write of the batch rejects with UNAVAILABLE: a device then gets no PUBACK.
 */
export class PgWriter {
  private readonly commits = new GroupCommit<Pending>((batch) => this.commit(batch));

  constructor(
    private readonly pool: pg.Pool,
    private readonly observe: BatchObserver = () => undefined,
  ) {}

  statement<T>(run: (client: pg.PoolClient) => Promise<T>, mapError?: (err: unknown) => never): Promise<T> {
    return this.enqueue({ kind: 'statement', run, ...(mapError ? { mapError } : {}) }) as Promise<T>;
  }

  changeMetadata(endpointId: string, change: MetadataChange, at: Iso): Promise<Metadata | undefined> {
    return this.enqueue({ kind: 'change', endpointId, change, at }) as Promise<Metadata | undefined>;
  }

  recordSeen(endpointId: string, at: Iso): Promise<void> {
    return this.enqueue({ kind: 'seen', endpointId, at }) as Promise<void>;
  }

  recordConnectivity(endpointId: string, connected: boolean, at: Iso, nodeId: string | null): Promise<void> {
    return this.enqueue({ kind: 'connectivity', endpointId, connected, at, nodeId }) as Promise<void>;
  }

  /** Resolves once everything queued so far has committed (or failed). */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  private enqueue(job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => this.commits.add({ job, resolve, reject }));
  }

  private async commit(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    let client: pg.PoolClient | undefined;
    let broken: unknown;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      let hot: Pending[] = [];
      for (const pending of batch) {
        if (pending.job.kind !== 'statement') {
          hot.push(pending);
          continue;
        }
        // Hot writes issued before this one apply before it (a change before a deletion finds its endpoint).
        if (hot.length > 0) await applyHot(client, hot);
        hot = [];
        await runInSavepoint(client, pending, pending.job);
      }
      if (hot.length > 0) await applyHot(client, hot);
      await client.query('COMMIT');
      for (const p of batch) settle(p);
      this.observe({ size: batch.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, ok: true });
    } catch (err) {
      broken = isConnectionError(err) ? err : undefined;
      if (client && !broken) await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
      // Nothing of the batch committed: every caller hears it, none gets a result that did not happen.
      const unavailable = errors.unavailable(err);
      for (const p of batch) p.reject(unavailable);
      this.observe({ size: batch.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, ok: false });
    } finally {
      client?.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }
}

function settle(p: Pending): void {
  if (!p.settled) p.resolve(undefined);
  else if (p.settled.ok) p.resolve(p.settled.value);
  else p.reject(p.settled.err);
}

async function runInSavepoint(client: pg.PoolClient, pending: Pending, job: Extract<Job, { kind: 'statement' }>): Promise<void> {
  await client.query('SAVEPOINT tether_write');
  try {
    const value = await job.run(client);
    await client.query('RELEASE SAVEPOINT tether_write');
    pending.settled = { ok: true, value };
  } catch (err) {
    if (isConnectionError(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT tether_write');
    try {
      if (job.mapError) job.mapError(err);
      mapUniqueViolation(err, {});
    } catch (mapped) {
      pending.settled = { ok: false, err: mapped };
    }
  }
}

/**
 * A run of hot-path writes: connectivity, then metadata changes with lastSeen (one statement). They
 * touch different columns, except that a connect also sets lastSeen, which a later lastSeen of the
 * same run must win over: hence connectivity first.
 */
async function applyHot(client: pg.PoolClient, run: Pending[]): Promise<void> {
  const changes = run.filter((p) => p.job.kind === 'change');
  const connectivity = run.filter((p) => p.job.kind === 'connectivity');
  const seen = latestSeen(run.filter((p) => p.job.kind === 'seen'));
  if (connectivity.length > 0) await applyConnectivity(client, connectivity);
  if (changes.length > 0) await applyChanges(client, changes, seen);
  else if (seen.size > 0) await applySeen(client, seen);
}

interface Doc {
  seq: string;
  applicationName: string;
  stored: Metadata;
  metadata: Metadata;
  at: Iso;
  touched: Set<string>;
}

async function applyChanges(client: pg.PoolClient, run: Pending[], seen: Map<string, Iso>): Promise<void> {
  const ids = [...new Set(run.map((p) => (p.job as { endpointId: string }).endpointId))];
  // FOR UPDATE: another node changing the same endpoint waits for this commit, so no merge loses keys.
  const { rows } = await client.query<{ seq: string; endpoint_id: string; application_name: string; metadata: string }>(
    'SELECT seq, endpoint_id, application_name, metadata FROM endpoints WHERE endpoint_id = ANY($1::text[]) ORDER BY seq FOR UPDATE',
    [ids],
  );
  const docs = new Map<string, Doc>();
  for (const row of rows) {
    const stored = JSON.parse(row.metadata) as Metadata;
    docs.set(row.endpoint_id, { seq: row.seq, applicationName: row.application_name, stored, metadata: stored, at: '', touched: new Set() });
  }
  for (const pending of run) {
    const job = pending.job as Extract<Job, { kind: 'change' }>;
    const doc = docs.get(job.endpointId);
    if (!doc) {
      pending.settled = { ok: true, value: undefined };
      continue;
    }
    const applied = applyChange(doc.metadata, job.change);
    for (const key of applied.upserted) doc.touched.add(key);
    for (const key of applied.removed) doc.touched.add(key);
    doc.metadata = applied.metadata;
    doc.at = job.at;
    pending.settled = { ok: true, value: applied.metadata };
  }
  const changed = [...docs.entries()].filter(([, doc]) => doc.at !== '');
  // lastSeen of endpoints whose document changes rides on that row's update; the others get their own
  // (disjoint rows: one statement must not update a row twice).
  const seenOnly = [...seen.entries()].filter(([id]) => !docs.has(id));
  const upsert = { seq: [] as string[], key: [] as string[], app: [] as string[], canon: [] as string[], kind: [] as Array<number | null>, num: [] as Array<number | null>, text: [] as Array<string | null>, search: [] as string[] };
  const removed = { seq: [] as string[], key: [] as string[] };
  for (const [, doc] of changed) {
    for (const key of doc.touched) {
      if (Object.hasOwn(doc.metadata, key)) {
        const row = pgIndexRowOf(doc.metadata[key]!);
        upsert.seq.push(doc.seq);
        upsert.key.push(key);
        upsert.app.push(doc.applicationName);
        upsert.canon.push(row.canon);
        upsert.kind.push(row.sortKind);
        upsert.num.push(row.sortNum);
        upsert.text.push(row.sortText);
        upsert.search.push(row.searchText);
      } else if (Object.hasOwn(doc.stored, key)) {
        removed.seq.push(doc.seq);
        removed.key.push(key);
      }
    }
  }
  // One statement, one round trip: the documents, the index rows of removed keys, those of changed
  // keys. Data-modifying CTEs all run to completion; they touch disjoint rows (a key of a document is
  // either removed or upserted), so their order does not matter.
  await client.query(
    `WITH docs AS (
       UPDATE endpoints e SET metadata = u.metadata, metadata_updated_date = u.at, last_seen = coalesce(u.seen, e.last_seen)
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(seq, metadata, at, seen)
        WHERE e.seq = u.seq
     ), seen AS (
       UPDATE endpoints e SET last_seen = s.at FROM unnest($5::text[], $6::text[]) AS s(id, at) WHERE e.endpoint_id = s.id
     ), removed AS (
       DELETE FROM endpoint_metadata m USING unnest($7::bigint[], $8::text[]) AS d(seq, key)
        WHERE m.endpoint_seq = d.seq AND m.key = d.key
     ), upserted AS (
       INSERT INTO endpoint_metadata (endpoint_seq, key, application_name, canon, sort_kind, sort_num, sort_text, search_text)
       SELECT * FROM unnest($9::bigint[], $10::text[], $11::text[], $12::text[], $13::smallint[], $14::float8[], $15::text[], $16::text[])
       ON CONFLICT (endpoint_seq, key) DO UPDATE SET canon = excluded.canon, sort_kind = excluded.sort_kind,
         sort_num = excluded.sort_num, sort_text = excluded.sort_text, search_text = excluded.search_text
     )
     SELECT 1`,
    [
      changed.map(([, d]) => d.seq),
      changed.map(([, d]) => JSON.stringify(d.metadata)),
      changed.map(([, d]) => d.at),
      changed.map(([id]) => seen.get(id) ?? null),
      seenOnly.map(([id]) => id),
      seenOnly.map(([, at]) => at),
      removed.seq,
      removed.key,
      upsert.seq,
      upsert.key,
      upsert.app,
      upsert.canon,
      upsert.kind,
      upsert.num,
      upsert.text,
      upsert.search,
    ],
  );
}

/**
 * One UPDATE for the run. Several edges of one endpoint fold into one row: the last edge decides
 * `connected`, and each kind of edge keeps its latest time. A disconnect from a node that no longer
 * holds the endpoint's session (another node took it over) changes nothing.
 */
async function applyConnectivity(client: pg.PoolClient, run: Pending[]): Promise<void> {
  interface Fold { connected: boolean; at: Iso; lastConnected: Iso | null; lastDisconnected: Iso | null; node: string | null }
  const folds = new Map<string, Fold>();
  for (const pending of run) {
    const job = pending.job as Extract<Job, { kind: 'connectivity' }>;
    const fold = folds.get(job.endpointId) ?? { connected: false, at: job.at, lastConnected: null, lastDisconnected: null, node: job.nodeId };
    fold.connected = job.connected;
    fold.at = job.at;
    fold.node = job.nodeId;
    if (job.connected) fold.lastConnected = job.at;
    else fold.lastDisconnected = job.at;
    folds.set(job.endpointId, fold);
  }
  const entries = [...folds.entries()];
  await client.query(
    `UPDATE endpoints e SET connected = u.connected, connectivity_ts = u.at,
        last_connected_date = coalesce(u.last_connected, e.last_connected_date),
        last_disconnected_date = coalesce(u.last_disconnected, e.last_disconnected_date),
        last_seen = coalesce(u.last_connected, e.last_seen),
        connected_node = CASE WHEN u.connected THEN u.node END
       FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS u(id, connected, at, last_connected, last_disconnected, node)
      WHERE e.endpoint_id = u.id
        AND (u.connected OR u.last_connected IS NOT NULL OR u.node IS NULL OR e.connected_node IS NULL OR e.connected_node = u.node)`,
    [
      entries.map(([id]) => id),
      entries.map(([, f]) => f.connected),
      entries.map(([, f]) => f.at),
      entries.map(([, f]) => f.lastConnected),
      entries.map(([, f]) => f.lastDisconnected),
      entries.map(([, f]) => f.node),
    ],
  );
}

function latestSeen(run: Pending[]): Map<string, Iso> {
  const latest = new Map<string, Iso>();
  for (const pending of run) {
    const job = pending.job as Extract<Job, { kind: 'seen' }>;
    const current = latest.get(job.endpointId);
    // ISO strings order like the times they name.
    if (current === undefined || job.at > current) latest.set(job.endpointId, job.at);
  }
  return latest;
}

async function applySeen(client: pg.PoolClient, latest: Map<string, Iso>): Promise<void> {
  await client.query('UPDATE endpoints e SET last_seen = u.at FROM unnest($1::text[], $2::text[]) AS u(id, at) WHERE e.endpoint_id = u.id', [
    [...latest.keys()],
    [...latest.values()],
  ]);
}

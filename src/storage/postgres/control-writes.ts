import type pg from 'pg';
import type { CommandRecord, CommandResult } from '../../core/control.js';
import type { Iso, JsonValue } from '../../core/types.js';
import { COMMAND_COLUMNS, type CommandRow, toCommand } from '../control-rows.js';
import type { Dispatch, ResultOutcome } from '../control.js';
import { isConnectionError } from './constraint-errors.js';
import { GroupCommit } from './group-commit.js';
import type { StorePool } from './store-pool.js';

/** For an UPDATE … FROM whose other relation also has an `id`. */
export const QUALIFIED_COMMAND_COLUMNS = COMMAND_COLUMNS.split(', ').map((c) => `commands.${c}`).join(', ');

const json = (value: JsonValue | undefined): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

type Write =
  | { kind: 'complete'; endpointId: string; commandType: string; results: readonly CommandResult[]; at: Iso }
  | { kind: 'dispatched'; ids: readonly number[]; at: Iso }
  | { kind: 'dispatches'; dispatches: readonly Dispatch[] };

interface Pending {
  write: Write;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  value?: unknown;
}

/**
 * Group commit for what devices cause: results, commands sent to sessions, configurations
 * dispatched. A fleet answering a task at once becomes a few transactions of one set-based
 * statement per kind, not a transaction per device, as SQLite's control.db batches them.
 * Each caller's promise settles after COMMIT. Should a batch fail for a reason other than the
 * connection, its writes are retried one by one, so only the failing one rejects.
 */
export class ControlWriter {
  private readonly commits = new GroupCommit<Pending>((batch) => this.commit(batch));

  constructor(private readonly db: StorePool) {}

  complete(endpointId: string, commandType: string, results: readonly CommandResult[], at: Iso): Promise<ResultOutcome> {
    return this.enqueue({ kind: 'complete', endpointId, commandType, results, at }) as Promise<ResultOutcome>;
  }

  dispatched(ids: readonly number[], at: Iso): Promise<void> {
    return this.enqueue({ kind: 'dispatched', ids, at }) as Promise<void>;
  }

  dispatches(dispatches: readonly Dispatch[]): Promise<void> {
    return this.enqueue({ kind: 'dispatches', dispatches }) as Promise<void>;
  }

  /** Resolves once everything queued so far has committed (or failed). */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  private enqueue(write: Write): Promise<unknown> {
    return new Promise((resolve, reject) => this.commits.add({ write, resolve, reject }));
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.db.transaction((client) => applyAll(client, batch));
    } catch (err) {
      if (batch.length === 1 || isUnavailable(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (const p of batch) {
        try {
          await this.db.transaction((client) => applyAll(client, [p]));
          p.resolve(p.value);
        } catch (alone) {
          p.reject(alone);
        }
      }
      return;
    }
    for (const p of batch) p.resolve(p.value);
  }
}

function isUnavailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'UNAVAILABLE' || isConnectionError(err);
}

/** Runs of one kind become one statement; runs apply in the order their writes were made. */
async function applyAll(client: pg.PoolClient, batch: Pending[]): Promise<void> {
  let start = 0;
  while (start < batch.length) {
    const kind = batch[start]!.write.kind;
    let end = start;
    while (end < batch.length && batch[end]!.write.kind === kind) end++;
    const run = batch.slice(start, end);
    if (kind === 'complete') await complete(client, run);
    else if (kind === 'dispatched') await markDispatched(client, run);
    else await recordDispatches(client, run);
    start = end;
  }
}

/** A result names a command by ID, endpoint and type; only a command matching all three changes. */
const resultKey = (id: number, endpointId: string, commandType: string) => `${id}\u0000${endpointId}\u0000${commandType}`;

async function complete(client: pg.PoolClient, run: Pending[]): Promise<void> {
  // The first result for a command applies; a repeat (in the same report or another) finds it
  // finished, as one by one. IDs beyond what PostgreSQL (or JavaScript) holds name no command.
  const applying = new Map<string, { id: number; endpointId: string; commandType: string; at: Iso; result: CommandResult }>();
  for (const p of run) {
    const w = p.write as Extract<Write, { kind: 'complete' }>;
    for (const r of w.results) {
      const key = resultKey(r.id, w.endpointId, w.commandType);
      if (Number.isSafeInteger(r.id) && !applying.has(key)) applying.set(key, { id: r.id, endpointId: w.endpointId, commandType: w.commandType, at: w.at, result: r });
    }
  }
  const rows = [...applying.values()];
  const executed = new Map<string, CommandRecord>();
  const found = new Set<string>();
  if (rows.length > 0) {
    // Each command changes only while PENDING and unexpired, checked again on the row itself: of two
    // nodes reporting the same command, the second finds it EXECUTED. 11/CEP: an expired command stays expired.
    const updated = await client.query<CommandRow>(
      `UPDATE commands SET status = 'EXECUTED', response_payload = r.payload, status_code = r.code, reason_phrase = r.reason, updated_at = r.at
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[]) AS r(id, endpoint_id, command_type, at, payload, code, reason)
       WHERE commands.id = r.id AND commands.endpoint_id = r.endpoint_id AND commands.command_type = r.command_type
         AND commands.status = 'PENDING' AND commands.expires_at > r.at
       RETURNING ${QUALIFIED_COMMAND_COLUMNS}`,
      [
        rows.map((r) => r.id), rows.map((r) => r.endpointId), rows.map((r) => r.commandType), rows.map((r) => r.at),
        rows.map((r) => json(r.result.payload)), rows.map((r) => String(r.result.statusCode)), rows.map((r) => r.result.reasonPhrase ?? null),
      ],
    );
    for (const row of updated.rows) executed.set(resultKey(Number(row.id), row.endpoint_id, row.command_type), toCommand(row));
    const rest = rows.filter((r) => !executed.has(resultKey(r.id, r.endpointId, r.commandType)));
    if (rest.length > 0) {
      const others = await client.query<{ id: string; endpoint_id: string; command_type: string }>(
        'SELECT id, endpoint_id, command_type FROM commands WHERE id = ANY($1::bigint[])',
        [[...new Set(rest.map((r) => r.id))]],
      );
      for (const row of others.rows) found.add(resultKey(Number(row.id), row.endpoint_id, row.command_type));
    }
  }
  const claimed = new Set<string>();
  for (const p of run) {
    const w = p.write as Extract<Write, { kind: 'complete' }>;
    const outcome: ResultOutcome = { executed: [], unknown: [], finished: [] };
    for (const r of w.results) {
      const key = resultKey(r.id, w.endpointId, w.commandType);
      const command = executed.get(key);
      if (command && !claimed.has(key)) outcome.executed.push(command);
      else if (command || found.has(key)) outcome.finished.push(r.id);
      else outcome.unknown.push(r.id);
      claimed.add(key);
    }
    p.value = outcome;
  }
}

async function markDispatched(client: pg.PoolClient, run: Pending[]): Promise<void> {
  // One UPDATE may not take two values for a row: the last time given for an ID wins, as one by one.
  const latest = new Map<number, Iso>();
  for (const p of run) {
    const w = p.write as Extract<Write, { kind: 'dispatched' }>;
    for (const id of w.ids) if (Number.isSafeInteger(id)) latest.set(id, w.at);
  }
  if (latest.size === 0) return;
  await client.query('UPDATE commands SET last_dispatched_at = r.at FROM unnest($1::bigint[], $2::text[]) AS r(id, at) WHERE commands.id = r.id', [
    [...latest.keys()],
    [...latest.values()],
  ]);
}

async function recordDispatches(client: pg.PoolClient, run: Pending[]): Promise<void> {
  // One INSERT may not touch a row twice: a key dispatched twice is created by its first dispatch
  // (its place in the history) and dated by its last, as one by one.
  const byKey = new Map<string, { first: Dispatch; at: Iso }>();
  for (const p of run) {
    for (const d of (p.write as Extract<Write, { kind: 'dispatches' }>).dispatches) {
      const k = JSON.stringify([d.endpointId, d.appVersionName, d.name, d.configId]);
      byKey.set(k, { first: byKey.get(k)?.first ?? d, at: d.at });
    }
  }
  if (byKey.size === 0) return;
  const rows = [...byKey.values()];
  const column = <T>(pick: (r: (typeof rows)[number]) => T) => rows.map(pick);
  // A status is created at its first dispatch; later dispatches only move the date (a confirmed
  // status stays confirmed: the device already answered for this configuration). ORDER BY keeps
  // `seq` in the order given.
  await client.query(
    `INSERT INTO config_statuses (endpoint_id, app_version_name, name, config_id, status, config, last_dispatched_date)
     SELECT e, v, n, c, 'DISPATCHED', d, a
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(e, v, n, c, d, a, o)
     ORDER BY o
     ON CONFLICT (endpoint_id, app_version_name, name, config_id) DO UPDATE SET last_dispatched_date = excluded.last_dispatched_date`,
    [
      column((r) => r.first.endpointId), column((r) => r.first.appVersionName), column((r) => r.first.name), column((r) => r.first.configId),
      column((r) => JSON.stringify(r.first.config)), column((r) => r.at),
    ],
  );
}

import type { CommandRecord, CommandResult, CommandTask, CommandTaskProgress, ConfigStatusRecord, ConfigurationRecord } from '../../core/control.js';
import { errors } from '../../core/errors.js';
import type { Iso, JsonValue, Page } from '../../core/types.js';
import {
  COMMAND_COLUMNS,
  CONFIG_COLUMNS,
  type CommandRow,
  type ConfigRow,
  STATUS_COLUMNS,
  type StatusRow,
  type TaskRow,
  confirmedStatus,
  toCommand,
  toConfiguration,
  toStatus,
  toTaskProgress,
} from '../control-rows.js';
import type { CommandQuery, ConfigKey, Confirmation, ControlStorage, Dispatch, ResultOutcome, StatusQuery } from '../control.js';
import { CONTROL_MIGRATIONS } from './control-schema.js';
import type { PoolSettings } from './connection.js';
import { ControlWriter, QUALIFIED_COMMAND_COLUMNS } from './control-writes.js';
import { PoolStore, StorePool } from './store-pool.js';

const TASK_COLUMNS = 'task_id, application_name, command_type, request_payload, created_at, expires_at, endpoint_count';
const KEY_MATCH = 'app_version_name = $1 AND name = $2 AND endpoint_id = $3';
const json = (value: JsonValue | undefined): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * Configurations and commands in PostgreSQL, shared by every node: a command posted through one
 * node is delivered by whichever node holds the device's session, and its result is seen by all.
 * Its own small pool, as accounts.ts. Nodes write the same rows concurrently, so every rule of the
 * contract is one statement the database applies atomically per row (If-Match is a condition of
 * the UPDATE/DELETE, a result changes a command only `WHERE status = 'PENDING'`), and what SQLite
 * does row by row in one transaction is one set-based statement here (`unnest` arrays): 10,000
 * commands or a fleet's dispatches cost one round trip, not 10,000. What devices cause (results,
 * pushes, dispatches) group-commits across callers too (control-writes.ts).
 */
class PostgresControlStorage extends PoolStore implements ControlStorage {
  private readonly writer: ControlWriter;
  private closing = false;

  constructor(db: StorePool) {
    super(db);
    this.writer = new ControlWriter(db);
  }

  override async close(): Promise<void> {
    // What devices reported before the close still commits.
    this.closing = true;
    await this.writer.flush();
    await super.close();
  }

  // --- configurations --------------------------------------------------------------------------

  async getConfiguration(key: ConfigKey): Promise<ConfigurationRecord | undefined> {
    const row = (await this.query<ConfigRow>(`SELECT ${CONFIG_COLUMNS} FROM configurations WHERE ${KEY_MATCH}`, [key.appVersionName, key.name, key.endpointId])).rows[0];
    return row && toConfiguration(row);
  }

  async putConfiguration(record: ConfigurationRecord, expectedConfigId?: string): Promise<'ok' | 'conflict'> {
    if (expectedConfigId === undefined) {
      await this.putConfigurations([record]);
      return 'ok';
    }
    // If-Match: the condition is part of the UPDATE, so a concurrent change through another node
    // either happened before (no row matches: conflict) or waits for this one.
    const values: unknown[] = [record.appVersionName, record.name, record.endpointId, record.configId, JSON.stringify(record.config), record.updatedDate];
    const matches = expectedConfigId === '*' ? '' : ` AND config_id = $${values.push(expectedConfigId)}`;
    const n = await this.changed(`UPDATE configurations SET config_id = $4, config = $5, updated_date = $6 WHERE ${KEY_MATCH}${matches}`, values);
    return n > 0 ? 'ok' : 'conflict';
  }

  async putConfigurations(records: ConfigurationRecord[]): Promise<void> {
    if (records.length === 0) return;
    // One INSERT may not touch a row twice: the last record of a key wins, as it would one by one,
    // and a new row keeps the first one's creation date.
    const byKey = new Map<string, { record: ConfigurationRecord; createdDate: Iso }>();
    for (const record of records) {
      const k = JSON.stringify([record.appVersionName, record.name, record.endpointId]);
      byKey.set(k, { record, createdDate: byKey.get(k)?.createdDate ?? record.createdDate });
    }
    const rows = [...byKey.values()];
    const column = <T>(pick: (r: (typeof rows)[number]) => T) => rows.map(pick);
    await this.query(
      `INSERT INTO configurations (${CONFIG_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       ON CONFLICT (app_version_name, name, endpoint_id) DO UPDATE SET config_id = excluded.config_id, config = excluded.config, updated_date = excluded.updated_date`,
      [
        column((r) => r.record.endpointId), column((r) => r.record.appVersionName), column((r) => r.record.name), column((r) => r.record.configId),
        column((r) => JSON.stringify(r.record.config)), column((r) => r.createdDate), column((r) => r.record.updatedDate),
      ],
    );
  }

  async deleteConfiguration(key: ConfigKey, expectedConfigId?: string): Promise<'ok' | 'conflict' | 'missing'> {
    const values: unknown[] = [key.appVersionName, key.name, key.endpointId];
    const matches = expectedConfigId === undefined || expectedConfigId === '*' ? '' : ` AND config_id = $${values.push(expectedConfigId)}`;
    const n = await this.changed(`DELETE FROM configurations WHERE ${KEY_MATCH}${matches}`, values);
    if (n > 0) return 'ok';
    // With If-Match, nothing to delete means the precondition failed (HTTP 412), as on SQLite.
    return expectedConfigId === undefined ? 'missing' : 'conflict';
  }

  async hasPendingCommands(applicationName: string): Promise<boolean> {
    const { rows } = await this.query<{ one: number }>("SELECT 1 AS one FROM commands WHERE application_name = $1 AND status = 'PENDING' LIMIT 1", [applicationName]);
    return rows.length > 0;
  }

  async hasConfigurations(appVersionName: string): Promise<boolean> {
    const { rows } = await this.query<{ one: number }>('SELECT 1 AS one FROM configurations WHERE app_version_name = $1 LIMIT 1', [appVersionName]);
    return rows.length > 0;
  }

  async listConfigurations(endpointId: string, appVersionName: string): Promise<ConfigurationRecord[]> {
    const { rows } = await this.query<ConfigRow>(`SELECT ${CONFIG_COLUMNS} FROM configurations WHERE endpoint_id = $1 AND app_version_name = $2 ORDER BY name`, [
      endpointId,
      appVersionName,
    ]);
    return rows.map(toConfiguration);
  }

  async endpointOverrides(appVersionName: string, name: string, endpointIds: readonly string[]): Promise<Set<string>> {
    if (endpointIds.length === 0) return new Set();
    const { rows } = await this.query<{ endpoint_id: string }>(
      "SELECT endpoint_id FROM configurations WHERE app_version_name = $1 AND name = $2 AND endpoint_id = ANY($3::text[]) AND endpoint_id <> ''",
      [appVersionName, name, endpointIds],
    );
    return new Set(rows.map((r) => r.endpoint_id));
  }

  // --- statuses ---------------------------------------------------------------------------------

  recordDispatches(dispatches: readonly Dispatch[]): Promise<void> {
    if (this.closing) return Promise.reject(errors.unavailable());
    return dispatches.length === 0 ? Promise.resolve() : this.writer.dispatches(dispatches);
  }

  async recordConfirmation(c: Confirmation): Promise<void> {
    await this.query(
      `INSERT INTO config_statuses (endpoint_id, app_version_name, name, config_id, status, config, last_confirmed_date, confirmation_status_code, confirmation_reason)
       VALUES ($1, $2, $3, $4, $5,
         coalesce((SELECT config FROM configurations WHERE app_version_name = $2 AND name = $3 AND endpoint_id IN ($1, '') AND config_id = $4 LIMIT 1), 'null'),
         $6, $7, $8)
       ON CONFLICT (endpoint_id, app_version_name, name, config_id) DO UPDATE SET status = excluded.status, last_confirmed_date = excluded.last_confirmed_date,
         confirmation_status_code = excluded.confirmation_status_code, confirmation_reason = excluded.confirmation_reason`,
      [c.endpointId, c.appVersionName, c.name, c.configId, confirmedStatus(c.statusCode), c.at, String(c.statusCode), c.reasonPhrase],
    );
  }

  async appliedConfigIds(endpointId: string, appVersionName: string): Promise<Map<string, string>> {
    const { rows } = await this.query<{ name: string; config_id: string }>(
      `SELECT DISTINCT ON (name) name, config_id FROM config_statuses
       WHERE endpoint_id = $1 AND app_version_name = $2 AND status = 'APPLIED'
       ORDER BY name, last_confirmed_date DESC, seq DESC`,
      [endpointId, appVersionName],
    );
    return new Map(rows.map((r) => [r.name, r.config_id]));
  }

  async queryStatuses(query: StatusQuery): Promise<Page<ConfigStatusRecord>> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (column: string, value: string | undefined) => {
      if (value !== undefined) where.push(`${column} = $${values.push(value)}`);
    };
    add('endpoint_id', query.endpointId);
    add('app_version_name', query.appVersionName);
    add('config_id', query.configId);
    add('name', query.name);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [count, page] = await Promise.all([
      this.query<{ n: string }>(`SELECT count(*) AS n FROM config_statuses ${clause}`, values),
      this.query<StatusRow>(`SELECT ${STATUS_COLUMNS} FROM config_statuses ${clause} ORDER BY seq DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [
        ...values,
        query.limit,
        query.offset,
      ]),
    ]);
    return { totalElements: Number(count.rows[0]!.n), content: page.rows.map(toStatus) };
  }

  // --- commands ---------------------------------------------------------------------------------

  async insertCommands(commands: ReadonlyArray<Omit<CommandRecord, 'id'>>): Promise<CommandRecord[]> {
    if (commands.length === 0) return [];
    // The IDs are drawn first, so that each command knows its own (RETURNING promises no order);
    // sorted, they increase in the order given. A failed insert only leaves a gap.
    const drawn = await this.query<{ id: string }>("SELECT nextval(pg_get_serial_sequence('commands', 'id')) AS id FROM generate_series(1, $1)", [commands.length]);
    const ids = drawn.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const column = <T>(pick: (c: Omit<CommandRecord, 'id'>) => T) => commands.map(pick);
    await this.query(
      `INSERT INTO commands (${COMMAND_COLUMNS})
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::text[],
         $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])`,
      [
        ids, column((c) => c.endpointId), column((c) => c.applicationName), column((c) => c.commandType), column((c) => c.status),
        column((c) => JSON.stringify(c.requestPayload)), column((c) => json(c.responsePayload)), column((c) => (c.statusCode === null ? null : String(c.statusCode))),
        column((c) => c.reasonPhrase), column((c) => c.createdAt), column((c) => c.updatedAt), column((c) => c.expiresAt), column((c) => c.lastDispatchedAt),
        column((c) => c.taskId),
      ],
    );
    return commands.map((c, i) => ({ ...c, id: ids[i]! }));
  }

  async getCommand(id: number): Promise<CommandRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const row = (await this.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = $1`, [id])).rows[0];
    return row && toCommand(row);
  }

  async outstandingCommands(endpointId: string, now: Iso, commandType?: string): Promise<CommandRecord[]> {
    const { rows } =
      commandType === undefined
        ? await this.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = $1 AND status = 'PENDING' AND expires_at > $2 ORDER BY id`, [endpointId, now])
        : await this.query<CommandRow>(
            `SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = $1 AND command_type = $2 AND status = 'PENDING' AND expires_at > $3 ORDER BY id`,
            [endpointId, commandType, now],
          );
    return rows.map(toCommand);
  }

  markDispatched(ids: readonly number[], at: Iso): Promise<void> {
    if (this.closing) return Promise.reject(errors.unavailable());
    return ids.length === 0 ? Promise.resolve() : this.writer.dispatched(ids, at);
  }

  completeCommands(endpointId: string, commandType: string, results: readonly CommandResult[], at: Iso): Promise<ResultOutcome> {
    if (this.closing) return Promise.reject(errors.unavailable());
    if (results.length === 0) return Promise.resolve({ executed: [], unknown: [], finished: [] });
    return this.writer.complete(endpointId, commandType, results, at);
  }

  async queryCommands(query: CommandQuery): Promise<Page<CommandRecord>> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.endpointIds !== undefined) {
      if (query.endpointIds.length === 0) return { totalElements: 0, content: [] };
      where.push(`endpoint_id = ANY($${values.push(query.endpointIds)}::text[])`);
    }
    if (query.applicationName !== undefined) where.push(`application_name = $${values.push(query.applicationName)}`);
    if (query.commandTypes !== undefined && query.commandTypes.length > 0) where.push(`command_type = ANY($${values.push(query.commandTypes)}::text[])`);
    if (query.statuses !== undefined && query.statuses.length > 0) where.push(`status = ANY($${values.push(query.statuses)}::text[])`);
    if (query.taskId !== undefined) where.push(`task_id = $${values.push(query.taskId)}`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [count, page] = await Promise.all([
      this.query<{ n: string }>(`SELECT count(*) AS n FROM commands ${clause}`, values),
      this.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [
        ...values,
        query.limit,
        query.offset,
      ]),
    ]);
    return { totalElements: Number(count.rows[0]!.n), content: page.rows.map(toCommand) };
  }

  async lastCommand(endpointId: string, commandType: string): Promise<CommandRecord | undefined> {
    const row = (
      await this.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = $1 AND command_type = $2 ORDER BY id DESC LIMIT 1`, [endpointId, commandType])
    ).rows[0];
    return row && toCommand(row);
  }

  async deleteCommand(id: number): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    return (await this.changed('DELETE FROM commands WHERE id = $1', [id])) > 0;
  }

  async expireCommands(now: Iso, limit: number): Promise<CommandRecord[]> {
    // Every node sweeps: SKIP LOCKED hands each due command to one of them, and a command a result
    // is completing right now is left to that result. MATERIALIZED: as a plain `IN (… LIMIT)` the
    // planner may run the selection again per row and expire more than `limit`.
    const { rows } = await this.query<CommandRow>(
      `WITH due AS MATERIALIZED (
         SELECT id FROM commands WHERE status = 'PENDING' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE commands SET status = 'EXPIRED', updated_at = $1 FROM due
       WHERE commands.id = due.id AND commands.status = 'PENDING'
       RETURNING ${QUALIFIED_COMMAND_COLUMNS}`,
      [now, limit],
    );
    return rows.map(toCommand).sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : a.id - b.id));
  }

  pruneCommands(before: Iso): Promise<number> {
    return this.db.transaction(async (client) => {
      const removed = (await client.query("DELETE FROM commands WHERE status <> 'PENDING' AND updated_at < $1", [before])).rowCount ?? 0;
      await client.query('DELETE FROM command_tasks WHERE expires_at < $1 AND NOT EXISTS (SELECT 1 FROM commands WHERE commands.task_id = command_tasks.task_id)', [before]);
      return removed;
    });
  }

  async insertTask(task: CommandTask): Promise<void> {
    await this.query(`INSERT INTO command_tasks (${TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      task.taskId, task.applicationName, task.commandType, JSON.stringify(task.requestPayload), task.createdAt, task.expiresAt, task.endpointCount,
    ]);
  }

  async getTask(taskId: string): Promise<CommandTaskProgress | undefined> {
    const row = (await this.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM command_tasks WHERE task_id = $1`, [taskId])).rows[0];
    if (!row) return undefined;
    return toTaskProgress(row, (await this.taskCounts([taskId])).get(taskId) ?? []);
  }

  async listTasks(applicationName: string | undefined, offset: number, limit: number): Promise<Page<CommandTaskProgress>> {
    const [count, page] =
      applicationName === undefined
        ? await Promise.all([
            this.query<{ n: string }>('SELECT count(*) AS n FROM command_tasks'),
            this.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM command_tasks ORDER BY created_at DESC, task_id LIMIT $1 OFFSET $2`, [limit, offset]),
          ])
        : await Promise.all([
            this.query<{ n: string }>('SELECT count(*) AS n FROM command_tasks WHERE application_name = $1', [applicationName]),
            this.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM command_tasks WHERE application_name = $1 ORDER BY created_at DESC, task_id LIMIT $2 OFFSET $3`, [
              applicationName,
              limit,
              offset,
            ]),
          ]);
    const counts = await this.taskCounts(page.rows.map((r) => r.task_id));
    return { totalElements: Number(count.rows[0]!.n), content: page.rows.map((row) => toTaskProgress(row, counts.get(row.task_id) ?? [])) };
  }

  /** Commands per status of each task, in one query for a page of tasks. */
  private async taskCounts(taskIds: string[]): Promise<Map<string, Array<{ status: string; n: string }>>> {
    const counts = new Map<string, Array<{ status: string; n: string }>>();
    if (taskIds.length === 0) return counts;
    const { rows } = await this.query<{ task_id: string; status: string; n: string }>(
      'SELECT task_id, status, count(*) AS n FROM commands WHERE task_id = ANY($1::text[]) GROUP BY task_id, status',
      [taskIds],
    );
    for (const row of rows) {
      const list = counts.get(row.task_id) ?? [];
      list.push({ status: row.status, n: row.n });
      counts.set(row.task_id, list);
    }
    return counts;
  }

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.db.transaction(async (client) => {
      await client.query('DELETE FROM configurations WHERE endpoint_id = $1', [endpointId]);
      await client.query('DELETE FROM config_statuses WHERE endpoint_id = $1', [endpointId]);
      await client.query('DELETE FROM commands WHERE endpoint_id = $1', [endpointId]);
    });
  }

  deleteApplication(applicationName: string, appVersionNames: readonly string[]): Promise<void> {
    return this.db.transaction(async (client) => {
      await client.query('DELETE FROM configurations WHERE app_version_name = ANY($1::text[])', [appVersionNames]);
      await client.query('DELETE FROM config_statuses WHERE app_version_name = ANY($1::text[])', [appVersionNames]);
      await client.query('DELETE FROM commands WHERE application_name = $1', [applicationName]);
      await client.query('DELETE FROM command_tasks WHERE application_name = $1', [applicationName]);
    });
  }
}

/**
 * Opens the control tables in the database at `url`, creating or migrating them. An unreachable
 * database fails here with one line naming the URL (without password).
 */
export async function openPostgresControlStorage(options: PoolSettings): Promise<ControlStorage> {
  return new PostgresControlStorage(await StorePool.open({ ...options, maxConnections: options.maxConnections ?? 4 }, CONTROL_MIGRATIONS));
}

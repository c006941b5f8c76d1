import type { Database as Db, Statement } from 'better-sqlite3';
import type { CommandRecord, CommandResult, CommandTask, CommandTaskProgress, ConfigStatusRecord, ConfigurationRecord } from '../../core/control.js';
import { errors } from '../../core/errors.js';
import type { Iso, Page } from '../../core/types.js';
import type { CommandQuery, ConfigKey, Confirmation, ControlStorage, Dispatch, ResultOutcome, StatusQuery } from '../control.js';
import { COMMAND_COLUMNS, CONFIG_COLUMNS, STATUS_COLUMNS, type CommandRow, type ConfigRow, type StatusRow, type TaskRow, toCommand, toConfiguration, toStatus, toTaskProgress, confirmedStatus } from '../control-rows.js';
import type { SynchronousMode } from './connection.js';
import { OwnFileStore, openOwnFileStore } from './own-file-store.js';

/**
 * Schema of control.db. A file of its own beside tether.db: SQLite has one writer per file, and
 * a fleet's command results committing here never wait for (or hold up) the metadata writer.
 * Append only, like schema.ts.
 */
const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE configurations (
    endpoint_id      TEXT NOT NULL,
    app_version_name TEXT NOT NULL,
    name             TEXT NOT NULL,
    config_id        TEXT NOT NULL,
    config           TEXT NOT NULL,
    created_date     TEXT NOT NULL,
    updated_date     TEXT NOT NULL,
    PRIMARY KEY (app_version_name, name, endpoint_id)
  ) WITHOUT ROWID;
  CREATE INDEX configurations_by_endpoint ON configurations(endpoint_id, app_version_name, name);

  CREATE TABLE config_statuses (
    endpoint_id               TEXT NOT NULL,
    app_version_name          TEXT NOT NULL,
    name                      TEXT NOT NULL,
    config_id                 TEXT NOT NULL,
    status                    TEXT NOT NULL,
    config                    TEXT NOT NULL,
    last_dispatched_date      TEXT,
    last_confirmed_date       TEXT,
    confirmation_status_code  INTEGER,
    confirmation_reason       TEXT,
    -- order of first dispatch, for the newest-first history
    seq                       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, app_version_name, name, config_id)
  ) WITHOUT ROWID;
  CREATE INDEX config_statuses_by_config ON config_statuses(config_id);
  CREATE INDEX config_statuses_by_seq ON config_statuses(seq);

  CREATE TABLE commands (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id        TEXT NOT NULL,
    application_name   TEXT NOT NULL,
    command_type       TEXT NOT NULL,
    status             TEXT NOT NULL,
    request_payload    TEXT NOT NULL,
    response_payload   TEXT,
    status_code        INTEGER,
    reason_phrase      TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    last_dispatched_at TEXT,
    task_id            TEXT
  );
  CREATE INDEX commands_by_endpoint ON commands(endpoint_id, command_type, id);
  CREATE INDEX commands_pending_expiry ON commands(expires_at) WHERE status = 'PENDING';
  CREATE INDEX commands_by_task ON commands(task_id, status) WHERE task_id IS NOT NULL;
  CREATE INDEX commands_by_application ON commands(application_name, id);
  CREATE INDEX commands_finished ON commands(updated_at) WHERE status <> 'PENDING';

  CREATE TABLE command_tasks (
    task_id           TEXT PRIMARY KEY,
    application_name  TEXT NOT NULL,
    command_type      TEXT NOT NULL,
    request_payload   TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    endpoint_count    INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX command_tasks_by_application ON command_tasks(application_name, created_at);
  `,
  /* 2: whether an application has any pending command, answered without reading its finished ones */ `
  CREATE INDEX commands_pending_by_application ON commands(application_name) WHERE status = 'PENDING';
  `,
];

/**
 * Longest a push's dispatch time waits for a commit to ride along with (see markDispatched); shorter
 * than any client would poll a command after sending it.
 */
const DISPATCH_WRITE_DELAY_MS = 250;

export interface SqliteControlOptions {
  file: string;
  synchronous?: SynchronousMode;
}

export function openSqliteControlStorage(options: SqliteControlOptions): Promise<ControlStorage> {
  return openOwnFileStore(options.file, options.synchronous, (db) => new SqliteControlStorage(db));
}

/** A fleet's 10,000 command results arriving together cost a handful of commits, not 10,000 (OwnFileStore's group commit). */
class SqliteControlStorage extends OwnFileStore<ReturnType<typeof prepare>> implements ControlStorage {
  private statusSeq = 0;
  /** Commands pushed since the last commit, by ID: when they were sent (see markDispatched). */
  private dispatchedAt = new Map<number, Iso>();
  private dispatchTimer: NodeJS.Timeout | undefined;

  constructor(db: Db) {
    super(db, { fileName: 'control.db', migrations: MIGRATIONS, prepare });
  }

  /** Dispatch times ride along with whatever commits next. */
  protected override commitPrelude(): (() => void) | undefined {
    if (this.dispatchedAt.size === 0) return undefined;
    const dispatched = this.dispatchedAt;
    this.dispatchedAt = new Map();
    return () => {
      const s = this.st();
      for (const [id, at] of dispatched) s.markDispatched.run(at, id);
    };
  }

  protected override afterInit(): void {
    this.statusSeq = (this.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM config_statuses').get() as { n: number }).n;
  }

  protected override beforeClose(): void {
    clearTimeout(this.dispatchTimer);
  }

  // --- configurations --------------------------------------------------------------------------

  async getConfiguration(key: ConfigKey): Promise<ConfigurationRecord | undefined> {
    const row = this.st().getConfig.get(key.appVersionName, key.name, key.endpointId);
    return row && toConfiguration(row);
  }

  putConfiguration(record: ConfigurationRecord, expectedConfigId?: string): Promise<'ok' | 'conflict'> {
    return this.write(() => {
      const s = this.st();
      const current = s.getConfig.get(record.appVersionName, record.name, record.endpointId);
      if (expectedConfigId !== undefined && (current === undefined || (expectedConfigId !== '*' && current.config_id !== expectedConfigId))) return 'conflict';
      s.upsertConfig.run(configParams(record, current?.created_date));
      return 'ok';
    });
  }

  putConfigurations(records: ConfigurationRecord[]): Promise<void> {
    return this.write(() => {
      const s = this.st();
      for (const record of records) {
        const current = s.getConfig.get(record.appVersionName, record.name, record.endpointId);
        s.upsertConfig.run(configParams(record, current?.created_date));
      }
    });
  }

  deleteConfiguration(key: ConfigKey, expectedConfigId?: string): Promise<'ok' | 'conflict' | 'missing'> {
    return this.write(() => {
      const s = this.st();
      const current = s.getConfig.get(key.appVersionName, key.name, key.endpointId);
      if (!current) return expectedConfigId !== undefined ? 'conflict' : 'missing';
      if (expectedConfigId !== undefined && expectedConfigId !== '*' && current.config_id !== expectedConfigId) return 'conflict';
      s.deleteConfig.run(key.appVersionName, key.name, key.endpointId);
      return 'ok';
    });
  }

  async hasConfigurations(appVersionName: string): Promise<boolean> {
    return this.st().anyConfig.get(appVersionName) !== undefined;
  }

  async listConfigurations(endpointId: string, appVersionName: string): Promise<ConfigurationRecord[]> {
    return this.st().listConfigs.all(endpointId, appVersionName).map(toConfiguration);
  }

  async endpointOverrides(appVersionName: string, name: string, endpointIds: readonly string[]): Promise<Set<string>> {
    const s = this.st();
    const found = new Set<string>();
    // Few endpoints have their own configuration: one indexed probe each is cheaper than a scan.
    for (const row of s.overrideIds.iterate(appVersionName, name)) {
      found.add(row.endpoint_id);
    }
    if (found.size === 0) return found;
    const wanted = new Set(endpointIds);
    for (const id of found) if (!wanted.has(id)) found.delete(id);
    return found;
  }

  // --- statuses ---------------------------------------------------------------------------------

  recordDispatches(dispatches: readonly Dispatch[]): Promise<void> {
    return this.write(() => {
      const s = this.st();
      for (const d of dispatches) {
        s.dispatch.run({ ...statusKey(d), config: JSON.stringify(d.config), at: d.at, seq: ++this.statusSeq });
      }
    });
  }

  recordConfirmation(c: Confirmation): Promise<void> {
    return this.write(() => {
      this.st().confirm.run({
        ...statusKey(c),
        status: confirmedStatus(c.statusCode),
        code: c.statusCode,
        reason: c.reasonPhrase,
        at: c.at,
        seq: ++this.statusSeq,
      });
    });
  }

  async appliedConfigIds(endpointId: string, appVersionName: string): Promise<Map<string, string>> {
    const applied = new Map<string, string>();
    for (const row of this.st().applied.iterate(endpointId, appVersionName)) {
      if (!applied.has(row.name)) applied.set(row.name, row.config_id);
    }
    return applied;
  }

  async queryStatuses(query: StatusQuery): Promise<Page<ConfigStatusRecord>> {
    this.st();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.endpointId !== undefined) {
      where.push('endpoint_id = ?');
      params.push(query.endpointId);
    }
    if (query.appVersionName !== undefined) {
      where.push('app_version_name = ?');
      params.push(query.appVersionName);
    }
    if (query.configId !== undefined) {
      where.push('config_id = ?');
      params.push(query.configId);
    }
    if (query.name !== undefined) {
      where.push('name = ?');
      params.push(query.name);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM config_statuses ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT ${STATUS_COLUMNS} FROM config_statuses ${clause} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as StatusRow[];
    return { totalElements: total, content: rows.map(toStatus) };
  }

  // --- commands ---------------------------------------------------------------------------------

  insertCommands(commands: ReadonlyArray<Omit<CommandRecord, 'id'>>): Promise<CommandRecord[]> {
    return this.write(() => {
      const s = this.st();
      return commands.map((c) => {
        const info = s.insertCommand.run(
          c.endpointId,
          c.applicationName,
          c.commandType,
          c.status,
          JSON.stringify(c.requestPayload),
          c.responsePayload === null ? null : JSON.stringify(c.responsePayload),
          c.statusCode,
          c.reasonPhrase,
          c.createdAt,
          c.updatedAt,
          c.expiresAt,
          c.lastDispatchedAt,
          c.taskId,
        );
        return { ...c, id: Number(info.lastInsertRowid) };
      });
    });
  }

  async getCommand(id: number): Promise<CommandRecord | undefined> {
    const row = this.st().getCommand.get(id);
    return row && this.view(row);
  }

  async hasPendingCommands(applicationName: string): Promise<boolean> {
    return this.st().anyPending.get(applicationName) !== undefined;
  }

  async outstandingCommands(endpointId: string, now: Iso, commandType?: string): Promise<CommandRecord[]> {
    const s = this.st();
    const rows = commandType === undefined ? s.outstandingAll.all(endpointId, now) : s.outstandingOfType.all(endpointId, commandType, now);
    return rows.map((row) => this.view(row));
  }

  /**
   * When a push went out is bookkeeping, not a promise made to anyone (an undelivered command stays
   * PENDING and is sent again either way): it rides along with the next commit, usually the
   * device's result a few milliseconds later, instead of costing a commit of its own. On SQLite a
   * commit is an fsync on the event loop, so that is one fsync less per command that every other
   * request would wait for. Reads show it at once (`view`); a timer writes it when nothing else does.
   */
  markDispatched(ids: readonly number[], at: Iso): Promise<void> {
    if (!this.open) return Promise.reject(errors.unavailable());
    for (const id of ids) this.dispatchedAt.set(id, at);
    this.dispatchTimer ??= setTimeout(() => {
      this.dispatchTimer = undefined;
      if (this.open) this.commits.flush();
    }, DISPATCH_WRITE_DELAY_MS);
    return Promise.resolve();
  }

  /** A command as stored, with a dispatch time that is still waiting for its commit. */
  private view(row: CommandRow): CommandRecord {
    const at = this.dispatchedAt.get(Number(row.id));
    return toCommand(at === undefined ? row : { ...row, last_dispatched_at: at });
  }

  completeCommands(endpointId: string, commandType: string, results: readonly CommandResult[], at: Iso): Promise<ResultOutcome> {
    return this.write(() => {
      const s = this.st();
      const outcome: ResultOutcome = { executed: [], unknown: [], finished: [] };
      for (const r of results) {
        const row = s.getCommand.get(r.id);
        if (!row || row.endpoint_id !== endpointId || row.command_type !== commandType) {
          outcome.unknown.push(r.id);
          continue;
        }
        // 11/CEP: an expired command stays expired; a result for it changes nothing.
        if (row.status !== 'PENDING' || row.expires_at <= at) {
          outcome.finished.push(r.id);
          continue;
        }
        const response = r.payload === undefined ? null : JSON.stringify(r.payload);
        s.complete.run(response, r.statusCode, r.reasonPhrase ?? null, at, r.id);
        outcome.executed.push(toCommand({ ...row, status: 'EXECUTED', response_payload: response, status_code: r.statusCode, reason_phrase: r.reasonPhrase ?? null, updated_at: at }));
      }
      return outcome;
    });
  }

  async queryCommands(query: CommandQuery): Promise<Page<CommandRecord>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.endpointIds !== undefined) {
      if (query.endpointIds.length === 0) return { totalElements: 0, content: [] };
      where.push('endpoint_id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.endpointIds));
    }
    if (query.applicationName !== undefined) {
      where.push('application_name = ?');
      params.push(query.applicationName);
    }
    if (query.commandTypes !== undefined && query.commandTypes.length > 0) {
      where.push(`command_type IN (${query.commandTypes.map(() => '?').join(',')})`);
      params.push(...query.commandTypes);
    }
    if (query.statuses !== undefined && query.statuses.length > 0) {
      where.push(`status IN (${query.statuses.map(() => '?').join(',')})`);
      params.push(...query.statuses);
    }
    if (query.taskId !== undefined) {
      where.push('task_id = ?');
      params.push(query.taskId);
    }
    this.st();
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM commands ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...params, query.limit, query.offset) as CommandRow[];
    return { totalElements: total, content: rows.map((row) => this.view(row)) };
  }

  async lastCommand(endpointId: string, commandType: string): Promise<CommandRecord | undefined> {
    const row = this.st().lastCommand.get(endpointId, commandType);
    return row && this.view(row);
  }

  deleteCommand(id: number): Promise<boolean> {
    return this.write(() => this.st().deleteCommand.run(id).changes > 0);
  }

  expireCommands(now: Iso, limit: number): Promise<CommandRecord[]> {
    return this.write(() => {
      const s = this.st();
      const rows = s.dueToExpire.all(now, limit);
      for (const row of rows) s.expire.run(now, row.id);
      return rows.map((row) => toCommand({ ...row, status: 'EXPIRED', updated_at: now }));
    });
  }

  pruneCommands(before: Iso): Promise<number> {
    return this.write(() => {
      const s = this.st();
      const removed = s.pruneCommands.run(before).changes;
      s.pruneTasks.run(before);
      return removed;
    });
  }

  insertTask(task: CommandTask): Promise<void> {
    return this.write(() => {
      this.st().insertTask.run(task.taskId, task.applicationName, task.commandType, JSON.stringify(task.requestPayload), task.createdAt, task.expiresAt, task.endpointCount);
    });
  }

  async getTask(taskId: string): Promise<CommandTaskProgress | undefined> {
    const s = this.st();
    const row = s.getTask.get(taskId);
    return row && toTaskProgress(row, s.taskCounts.all(taskId));
  }

  async listTasks(applicationName: string | undefined, offset: number, limit: number): Promise<Page<CommandTaskProgress>> {
    const s = this.st();
    const rows = applicationName === undefined ? s.listTasks.all(limit, offset) : s.listTasksOf.all(applicationName, limit, offset);
    const total = applicationName === undefined ? s.countTasks.get()!.n : s.countTasksOf.get(applicationName)!.n;
    return { totalElements: total, content: rows.map((row) => toTaskProgress(row, s.taskCounts.all(row.task_id))) };
  }

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.write(() => {
      const s = this.st();
      s.deleteEndpointConfigs.run(endpointId);
      s.deleteEndpointStatuses.run(endpointId);
      s.deleteEndpointCommands.run(endpointId);
    });
  }

  deleteApplication(applicationName: string, appVersionNames: readonly string[]): Promise<void> {
    return this.write(() => {
      const s = this.st();
      for (const name of appVersionNames) {
        s.deleteVersionConfigs.run(name);
        s.deleteVersionStatuses.run(name);
      }
      s.deleteApplicationCommands.run(applicationName);
      s.deleteApplicationTasks.run(applicationName);
    });
  }
}

function configParams(record: ConfigurationRecord, createdDate: string | undefined) {
  return {
    endpoint_id: record.endpointId,
    app_version_name: record.appVersionName,
    name: record.name,
    config_id: record.configId,
    config: JSON.stringify(record.config),
    created_date: createdDate ?? record.createdDate,
    updated_date: record.updatedDate,
  };
}

function statusKey(k: ConfigKey & { configId: string }) {
  return { endpoint_id: k.endpointId, app_version_name: k.appVersionName, name: k.name, config_id: k.configId };
}

function prepare(db: Db) {
  return {
    getConfig: db.prepare(`SELECT ${CONFIG_COLUMNS} FROM configurations WHERE app_version_name = ? AND name = ? AND endpoint_id = ?`) as Statement<[string, string, string], ConfigRow>,
    upsertConfig: db.prepare(
      `INSERT INTO configurations (${CONFIG_COLUMNS}) VALUES (@endpoint_id, @app_version_name, @name, @config_id, @config, @created_date, @updated_date)
       ON CONFLICT (app_version_name, name, endpoint_id) DO UPDATE SET config_id = excluded.config_id, config = excluded.config, updated_date = excluded.updated_date`,
    ),
    deleteConfig: db.prepare('DELETE FROM configurations WHERE app_version_name = ? AND name = ? AND endpoint_id = ?'),
    anyConfig: db.prepare('SELECT 1 AS one FROM configurations WHERE app_version_name = ? LIMIT 1') as Statement<[string], { one: number }>,
    listConfigs: db.prepare(`SELECT ${CONFIG_COLUMNS} FROM configurations WHERE endpoint_id = ? AND app_version_name = ? ORDER BY name`) as Statement<[string, string], ConfigRow>,
    overrideIds: db.prepare("SELECT endpoint_id FROM configurations WHERE app_version_name = ? AND name = ? AND endpoint_id <> ''") as Statement<[string, string], { endpoint_id: string }>,
    // A status is created at its first dispatch; later dispatches only move the date (and a
    // confirmed status stays confirmed: the device already answered for this configuration).
    dispatch: db.prepare(
      `INSERT INTO config_statuses (endpoint_id, app_version_name, name, config_id, status, config, last_dispatched_date, seq)
       VALUES (@endpoint_id, @app_version_name, @name, @config_id, 'DISPATCHED', @config, @at, @seq)
       ON CONFLICT (endpoint_id, app_version_name, name, config_id) DO UPDATE SET last_dispatched_date = excluded.last_dispatched_date`,
    ),
    confirm: db.prepare(
      `INSERT INTO config_statuses (endpoint_id, app_version_name, name, config_id, status, config, last_confirmed_date, confirmation_status_code, confirmation_reason, seq)
       VALUES (@endpoint_id, @app_version_name, @name, @config_id, @status, coalesce((SELECT config FROM configurations WHERE app_version_name = @app_version_name AND name = @name AND endpoint_id IN (@endpoint_id, '') AND config_id = @config_id LIMIT 1), 'null'), @at, @code, @reason, @seq)
       ON CONFLICT (endpoint_id, app_version_name, name, config_id) DO UPDATE SET status = excluded.status, last_confirmed_date = excluded.last_confirmed_date,
         confirmation_status_code = excluded.confirmation_status_code, confirmation_reason = excluded.confirmation_reason`,
    ),
    applied: db.prepare(
      "SELECT name, config_id FROM config_statuses WHERE endpoint_id = ? AND app_version_name = ? AND status = 'APPLIED' ORDER BY last_confirmed_date DESC, seq DESC",
    ) as Statement<[string, string], { name: string; config_id: string }>,
    insertCommand: db.prepare(
      `INSERT INTO commands (endpoint_id, application_name, command_type, status, request_payload, response_payload, status_code, reason_phrase, created_at, updated_at, expires_at, last_dispatched_at, task_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getCommand: db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`) as Statement<[number], CommandRow>,
    outstandingAll: db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = ? AND status = 'PENDING' AND expires_at > ? ORDER BY id`) as Statement<[string, string], CommandRow>,
    outstandingOfType: db.prepare(
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = ? AND command_type = ? AND status = 'PENDING' AND expires_at > ? ORDER BY id`,
    ) as Statement<[string, string, string], CommandRow>,
    markDispatched: db.prepare('UPDATE commands SET last_dispatched_at = ? WHERE id = ?'),
    complete: db.prepare("UPDATE commands SET status = 'EXECUTED', response_payload = ?, status_code = ?, reason_phrase = ?, updated_at = ? WHERE id = ?"),
    lastCommand: db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE endpoint_id = ? AND command_type = ? ORDER BY id DESC LIMIT 1`) as Statement<[string, string], CommandRow>,
    deleteCommand: db.prepare('DELETE FROM commands WHERE id = ?'),
    dueToExpire: db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE status = 'PENDING' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`) as Statement<[string, number], CommandRow>,
    expire: db.prepare("UPDATE commands SET status = 'EXPIRED', updated_at = ? WHERE id = ?"),
    pruneCommands: db.prepare("DELETE FROM commands WHERE status <> 'PENDING' AND updated_at < ?"),
    pruneTasks: db.prepare('DELETE FROM command_tasks WHERE expires_at < ? AND NOT EXISTS (SELECT 1 FROM commands WHERE commands.task_id = command_tasks.task_id)'),
    insertTask: db.prepare('INSERT INTO command_tasks (task_id, application_name, command_type, request_payload, created_at, expires_at, endpoint_count) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    getTask: db.prepare('SELECT * FROM command_tasks WHERE task_id = ?') as Statement<[string], TaskRow>,
    listTasks: db.prepare('SELECT * FROM command_tasks ORDER BY created_at DESC, task_id LIMIT ? OFFSET ?') as Statement<[number, number], TaskRow>,
    listTasksOf: db.prepare('SELECT * FROM command_tasks WHERE application_name = ? ORDER BY created_at DESC, task_id LIMIT ? OFFSET ?') as Statement<[string, number, number], TaskRow>,
    countTasks: db.prepare('SELECT count(*) AS n FROM command_tasks') as Statement<[], { n: number }>,
    countTasksOf: db.prepare('SELECT count(*) AS n FROM command_tasks WHERE application_name = ?') as Statement<[string], { n: number }>,
    taskCounts: db.prepare('SELECT status, count(*) AS n FROM commands WHERE task_id = ? GROUP BY status') as Statement<[string], { status: string; n: number }>,
    deleteEndpointConfigs: db.prepare('DELETE FROM configurations WHERE endpoint_id = ?'),
    deleteEndpointStatuses: db.prepare('DELETE FROM config_statuses WHERE endpoint_id = ?'),
    deleteEndpointCommands: db.prepare('DELETE FROM commands WHERE endpoint_id = ?'),
    anyPending: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM commands WHERE application_name = ? AND status = 'PENDING' LIMIT 1"),
    deleteVersionConfigs: db.prepare('DELETE FROM configurations WHERE app_version_name = ?'),
    deleteVersionStatuses: db.prepare('DELETE FROM config_statuses WHERE app_version_name = ?'),
    deleteApplicationCommands: db.prepare('DELETE FROM commands WHERE application_name = ?'),
    deleteApplicationTasks: db.prepare('DELETE FROM command_tasks WHERE application_name = ?'),
  };
}

import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ApiKeyRecord, AuditEntry, AuditQuery, MetadataHistoryEntry, NewAuditEntry, Role, SessionRecord, UserRecord } from '../../core/accounts.js';
import { errors } from '../../core/errors.js';
import type { Iso, JsonValue } from '../../core/types.js';
import type { AccountStorage } from '../accounts.js';
import {
  type AuditRow,
  type HistoryRow,
  KEY_COLUMNS,
  type KeyRow,
  SESSION_COLUMNS,
  type SessionRow,
  USER_COLUMNS,
  type UserRow,
  toAudit,
  toHistory,
  toKey,
  toSession,
  toUser,
} from '../rows/accounts.js';
import { migrate } from './schema.js';

/**
 * Users, API keys, dashboard sessions, audit log and metadata history in the same SQLite file as
 * everything else, over their OWN connection (like client-credentials.ts): these writes are rare
 * operator actions (and one batched history write per second), so they need none of the main
 * writer's group commit. The tables come from migrations 5 and 7 in schema.ts; opening this store
 * alone (the offline `tether admin reset-password`) migrates the file like the server would.
 */
interface Statements {
  insertUser: Statement;
  getUser: Statement<[string], UserRow>;
  listUsers: Statement<[], UserRow>;
  deleteUser: Statement<[string]>;
  countUsers: Statement<[], { n: number }>;
  countRole: Statement<[string], { n: number }>;
  insertKey: Statement;
  getKey: Statement<[string], KeyRow>;
  keyByHash: Statement<[string], KeyRow>;
  listKeys: Statement<[], KeyRow>;
  revokeKey: Statement<[string, string]>;
  touchKey: Statement<[string, string]>;
  insertSession: Statement<[string, string, string, string]>;
  getSession: Statement<[string], SessionRow>;
  deleteSession: Statement<[string]>;
  deleteUserSessions: Statement<[string, string]>;
  pruneSessions: Statement<[string]>;
  insertAudit: Statement;
  pruneAudit: Statement<[string]>;
  insertHistory: Statement;
  pruneHistoryAge: Statement<[string]>;
  trimHistory: Statement<[string, string, number]>;
}

class SqliteAccountStorage implements AccountStorage {
  readonly kind = 'sqlite';
  private s: Statements | undefined;
  private closed = false;

  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    if (this.s) return;
    migrate(this.db);
    const db = this.db;
    this.s = {
      insertUser: db.prepare(`INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),
      getUser: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
      listUsers: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`),
      deleteUser: db.prepare('DELETE FROM users WHERE username = ?'),
      countUsers: db.prepare('SELECT count(*) AS n FROM users'),
      countRole: db.prepare('SELECT count(*) AS n FROM users WHERE role = ?'),
      insertKey: db.prepare(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      getKey: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_id = ?`),
      keyByHash: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_hash = ?`),
      listKeys: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_date DESC, key_id`),
      revokeKey: db.prepare("UPDATE api_keys SET status = 'REVOKED', revoked_date = ? WHERE key_id = ? AND status = 'ACTIVE'"),
      touchKey: db.prepare('UPDATE api_keys SET last_used_date = ? WHERE key_id = ?'),
      insertSession: db.prepare(`INSERT INTO dashboard_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?)`),
      getSession: db.prepare(`SELECT ${SESSION_COLUMNS} FROM dashboard_sessions WHERE digest = ?`),
      deleteSession: db.prepare('DELETE FROM dashboard_sessions WHERE digest = ?'),
      deleteUserSessions: db.prepare('DELETE FROM dashboard_sessions WHERE username = ? AND digest <> ?'),
      pruneSessions: db.prepare('DELETE FROM dashboard_sessions WHERE expires_date <= ?'),
      insertAudit: db.prepare(
        `INSERT INTO audit_log (at, actor_kind, actor_name, actor_role, client_address, action, method, path, endpoint_id, target, before, after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      pruneAudit: db.prepare('DELETE FROM audit_log WHERE at < ?'),
      insertHistory: db.prepare('INSERT INTO metadata_history (endpoint_id, at, source, metadata) VALUES (?, ?, ?, ?)'),
      pruneHistoryAge: db.prepare('DELETE FROM metadata_history WHERE at < ?'),
      // Walks the (endpoint_id, id) index from the newest: the cost is the kept rows, not the table.
      trimHistory: db.prepare(
        `DELETE FROM metadata_history WHERE endpoint_id = ? AND id < (
           SELECT id FROM metadata_history WHERE endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private use(): Statements {
    if (this.closed || !this.s) throw errors.unavailable();
    return this.s;
  }

  async insertUser(u: UserRecord): Promise<void> {
    const s = this.use();
    try {
      s.insertUser.run(u.username, u.role, u.passwordHash, u.createdDate, u.passwordChangedDate, u.lastSignInDate);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw errors.userTaken(u.username);
      throw err;
    }
  }

  async getUser(username: string): Promise<UserRecord | undefined> {
    const row = this.use().getUser.get(username);
    return row && toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.use().listUsers.all().map(toUser);
  }

  async updateUser(username: string, patch: { role?: Role; passwordHash?: string; passwordChangedDate?: Iso; lastSignInDate?: Iso }): Promise<boolean> {
    this.use();
    const columns: Array<[string, string]> = [];
    if (patch.role !== undefined) columns.push(['role', patch.role]);
    if (patch.passwordHash !== undefined) columns.push(['password_hash', patch.passwordHash]);
    if (patch.passwordChangedDate !== undefined) columns.push(['password_changed_date', patch.passwordChangedDate]);
    if (patch.lastSignInDate !== undefined) columns.push(['last_sign_in_date', patch.lastSignInDate]);
    if (columns.length === 0) return (await this.getUser(username)) !== undefined;
    // Column names come from the fixed list above, never from input.
    const sql = `UPDATE users SET ${columns.map(([c]) => `${c} = ?`).join(', ')} WHERE username = ?`;
    return this.db.prepare(sql).run(...columns.map(([, v]) => v), username).changes > 0;
  }

  async deleteUser(username: string): Promise<boolean> {
    return this.use().deleteUser.run(username).changes > 0;
  }

  async countUsers(role?: Role): Promise<number> {
    const s = this.use();
    return (role === undefined ? s.countUsers.get() : s.countRole.get(role))?.n ?? 0;
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    this.use().insertKey.run(k.keyId, k.name, k.role, k.keyHash, k.hint, k.createdDate, k.createdBy, k.lastUsedDate, k.status, k.revokedDate);
  }

  async getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const row = this.use().getKey.get(keyId);
    return row && toKey(row);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.use().keyByHash.get(keyHash);
    return row && toKey(row);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.use().listKeys.all().map(toKey);
  }

  async revokeApiKey(keyId: string, at: Iso): Promise<boolean> {
    return this.use().revokeKey.run(at, keyId).changes > 0;
  }

  async touchApiKey(keyId: string, at: Iso): Promise<void> {
    this.use().touchKey.run(at, keyId);
  }

  async insertSession(session: SessionRecord): Promise<void> {
    this.use().insertSession.run(session.digest, session.username, session.createdDate, session.expiresDate);
  }

  async getSession(digest: string): Promise<SessionRecord | undefined> {
    const row = this.use().getSession.get(digest);
    return row && toSession(row);
  }

  async deleteSession(digest: string): Promise<boolean> {
    return this.use().deleteSession.run(digest).changes > 0;
  }

  async deleteUserSessions(username: string, keepDigest?: string): Promise<number> {
    // '' is never a digest: "keep none".
    return this.use().deleteUserSessions.run(username, keepDigest ?? '').changes;
  }

  async pruneSessions(now: Iso): Promise<number> {
    return this.use().pruneSessions.run(now).changes;
  }

  async appendAudit(e: NewAuditEntry): Promise<number> {
    return this.insertAudit(this.use(), e);
  }

  async appendAuditBatch(entries: NewAuditEntry[]): Promise<void> {
    const s = this.use();
    this.db.transaction(() => {
      for (const e of entries) this.insertAudit(s, e);
    })();
  }

  private insertAudit(s: Statements, e: NewAuditEntry): number {
    const json = (v: JsonValue | null) => (v === null ? null : JSON.stringify(v));
    const result = s.insertAudit.run(e.at, e.actor.kind, e.actor.name, e.actor.role, e.clientAddress, e.action, e.method, e.path, e.endpointId, e.target, json(e.before), json(e.after));
    return Number(result.lastInsertRowid);
  }

  async queryAudit(q: AuditQuery): Promise<AuditEntry[]> {
    this.use();
    const where: string[] = [];
    const values: Array<string | number> = [];
    if (q.endpointId !== undefined) {
      where.push('endpoint_id = ?');
      values.push(q.endpointId);
    }
    if (q.actor !== undefined) {
      where.push('actor_name = ?');
      values.push(q.actor);
    }
    if (q.action !== undefined) {
      where.push('action = ?');
      values.push(q.action);
    }
    if (q.from !== undefined) {
      where.push('at >= ?');
      values.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      values.push(q.to);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      values.push(q.before);
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...values, q.limit) as AuditRow[]).map(toAudit);
  }

  async pruneAudit(before: Iso): Promise<number> {
    return this.use().pruneAudit.run(before).changes;
  }

  async appendMetadataHistory(entries: Array<Omit<MetadataHistoryEntry, 'id'>>): Promise<void> {
    const s = this.use();
    // This connection runs on the main thread: an fsync per history batch would stall every device
    // for its duration. History is a record, not state, so its commits skip the fsync (WAL keeps
    // them crash-safe; a power loss may lose the last ones). Accounts and audit stay FULL.
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const e of entries) s.insertHistory.run(e.endpointId, e.at, e.source, JSON.stringify(e.metadata));
      })();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  async queryMetadataHistory(endpointId: string, query: { before?: number; limit: number }): Promise<MetadataHistoryEntry[]> {
    this.use();
    const rows = this.db
      .prepare(`SELECT * FROM metadata_history WHERE endpoint_id = ? ${query.before !== undefined ? 'AND id < ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(query.before !== undefined ? [endpointId, query.before, query.limit] : [endpointId, query.limit])) as HistoryRow[];
    return rows.map(toHistory);
  }

  async pruneMetadataHistory(before: Iso): Promise<number> {
    return this.use().pruneHistoryAge.run(before).changes;
  }

  async trimMetadataHistory(endpointId: string, keep: number): Promise<number> {
    const s = this.use();
    // Like appendMetadataHistory: no fsync on the main thread for a record's housekeeping.
    this.db.pragma('synchronous = NORMAL');
    try {
      // The newest kept row is at offset keep - 1; everything older goes.
      return s.trimHistory.run(endpointId, endpointId, Math.max(1, keep) - 1).changes;
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }
}

/** Opens the account tables in `file` (creating or migrating the file when needed). */
export async function openSqliteAccountStorage(options: { file: string }): Promise<AccountStorage> {
  const db = new Database(options.file);
  try {
    db.pragma('journal_mode = WAL');
    // A revoked key or a changed password must survive a power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const store = new SqliteAccountStorage(db);
    await store.init();
    return store;
  } catch (err) {
    db.close();
    throw err;
  }
}

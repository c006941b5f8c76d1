import type { ApiKeyRecord, AuditEntry, AuditQuery, MetadataHistoryEntry, NewAuditEntry, Role, SessionRecord, UserRecord } from '../../core/accounts.js';
import { errors } from '../../core/errors.js';
import type { Iso, JsonValue } from '../../core/types.js';
import {
  AUDIT_COLUMNS,
  type AuditRow,
  HISTORY_COLUMNS,
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
import type { AccountStorage } from '../accounts.js';
import { ACCOUNT_MIGRATIONS } from './accounts-schema.js';
import type { PoolSettings } from './connection.js';
import { mapUniqueViolation } from './constraint-errors.js';
import { PoolStore, StorePool } from './store-pool.js';

/**
 * Users, API keys, dashboard sessions, audit log and metadata history in PostgreSQL, shared by
 * every node on the database: a user or key made through one node works on all, and a revoked
 * key, a deleted user or an ended session is refused by every node at its next request (nothing
 * here is cached in memory). Its own small pool, as client-credentials.ts: these are rare
 * operator writes and one batched history write per second per node, which need none of the
 * main writer's group commit.
 */
class PostgresAccountStorage extends PoolStore implements AccountStorage {
  // --- users ------------------------------------------------------------------------------------

  async insertUser(u: UserRecord): Promise<void> {
    try {
      await this.query(`INSERT INTO users (${USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        u.username, u.role, u.passwordHash, u.createdDate, u.passwordChangedDate, u.lastSignInDate,
      ]);
    } catch (err) {
      mapUniqueViolation(err, { users_pkey: () => errors.userTaken(u.username) });
    }
  }

  async getUser(username: string): Promise<UserRecord | undefined> {
    const row = (await this.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username])).rows[0];
    return row && toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`)).rows.map(toUser);
  }

  async updateUser(username: string, patch: { role?: Role; passwordHash?: string; passwordChangedDate?: Iso; lastSignInDate?: Iso }): Promise<boolean> {
    const columns: Array<[string, string]> = [];
    if (patch.role !== undefined) columns.push(['role', patch.role]);
    if (patch.passwordHash !== undefined) columns.push(['password_hash', patch.passwordHash]);
    if (patch.passwordChangedDate !== undefined) columns.push(['password_changed_date', patch.passwordChangedDate]);
    if (patch.lastSignInDate !== undefined) columns.push(['last_sign_in_date', patch.lastSignInDate]);
    if (columns.length === 0) return (await this.getUser(username)) !== undefined;
    // Column names come from the fixed list above, never from input.
    const set = columns.map(([c], i) => `${c} = $${i + 1}`).join(', ');
    return (await this.changed(`UPDATE users SET ${set} WHERE username = $${columns.length + 1}`, [...columns.map(([, v]) => v), username])) > 0;
  }

  async deleteUser(username: string): Promise<boolean> {
    return (await this.changed('DELETE FROM users WHERE username = $1', [username])) > 0;
  }

  async countUsers(role?: Role): Promise<number> {
    const result =
      role === undefined
        ? await this.query<{ n: number }>('SELECT count(*)::int AS n FROM users')
        : await this.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE role = $1', [role]);
    return result.rows[0]?.n ?? 0;
  }

  // --- API keys -----------------------------------------------------------------------------------

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    await this.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
      k.keyId, k.name, k.role, k.keyHash, k.hint, k.createdDate, k.createdBy, k.lastUsedDate, k.status, k.revokedDate,
    ]);
  }

  async getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_id = $1`, [keyId])).rows[0];
    return row && toKey(row);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_hash = $1`, [keyHash])).rows[0];
    return row && toKey(row);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_date DESC, key_id`)).rows.map(toKey);
  }

  async revokeApiKey(keyId: string, at: Iso): Promise<boolean> {
    return (await this.changed("UPDATE api_keys SET status = 'REVOKED', revoked_date = $1 WHERE key_id = $2 AND status = 'ACTIVE'", [at, keyId])) > 0;
  }

  async touchApiKey(keyId: string, at: Iso): Promise<void> {
    await this.query('UPDATE api_keys SET last_used_date = $1 WHERE key_id = $2', [at, keyId]);
  }

  // --- dashboard sessions ---------------------------------------------------------------------------

  async insertSession(s: SessionRecord): Promise<void> {
    await this.query(`INSERT INTO dashboard_sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4)`, [s.digest, s.username, s.createdDate, s.expiresDate]);
  }

  async getSession(digest: string): Promise<SessionRecord | undefined> {
    const row = (await this.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM dashboard_sessions WHERE digest = $1`, [digest])).rows[0];
    return row && toSession(row);
  }

  async deleteSession(digest: string): Promise<boolean> {
    return (await this.changed('DELETE FROM dashboard_sessions WHERE digest = $1', [digest])) > 0;
  }

  async deleteUserSessions(username: string, keepDigest?: string): Promise<number> {
    return this.changed('DELETE FROM dashboard_sessions WHERE username = $1 AND digest IS DISTINCT FROM $2', [username, keepDigest ?? null]);
  }

  async pruneSessions(now: Iso): Promise<number> {
    return this.changed('DELETE FROM dashboard_sessions WHERE expires_date <= $1', [now]);
  }

  // --- audit log --------------------------------------------------------------------------------------

  async appendAuditBatch(entries: NewAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const json = (v: JsonValue | null) => (v === null ? null : JSON.stringify(v));
    const column = <T>(pick: (e: NewAuditEntry) => T) => entries.map(pick);
    // One statement for the whole batch; WITH ORDINALITY keeps the ids in the order given.
    await this.query(
      `INSERT INTO audit_log (at, actor_kind, actor_name, actor_role, client_address, action, method, path, endpoint_id, target, before, after)
       SELECT a, k, n, r, c, act, m, p, e, t, b, af
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
         WITH ORDINALITY AS x(a, k, n, r, c, act, m, p, e, t, b, af, o)
       ORDER BY o`,
      [
        column((e) => e.at), column((e) => e.actor.kind), column((e) => e.actor.name), column((e) => e.actor.role), column((e) => e.clientAddress),
        column((e) => e.action), column((e) => e.method), column((e) => e.path), column((e) => e.endpointId), column((e) => e.target),
        column((e) => json(e.before)), column((e) => json(e.after)),
      ],
    );
  }

  async appendAudit(e: NewAuditEntry): Promise<number> {
    const json = (v: JsonValue | null) => (v === null ? null : JSON.stringify(v));
    const { rows } = await this.query<{ id: string }>(
      `INSERT INTO audit_log (at, actor_kind, actor_name, actor_role, client_address, action, method, path, endpoint_id, target, before, after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [e.at, e.actor.kind, e.actor.name, e.actor.role, e.clientAddress, e.action, e.method, e.path, e.endpointId, e.target, json(e.before), json(e.after)],
    );
    return Number(rows[0]!.id);
  }

  async queryAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const values: Array<string | number> = [];
    const add = (condition: string, value: string | number) => {
      values.push(value);
      where.push(`${condition} $${values.length}`);
    };
    if (q.endpointId !== undefined) add('endpoint_id =', q.endpointId);
    if (q.actor !== undefined) add('actor_name =', q.actor);
    if (q.action !== undefined) add('action =', q.action);
    if (q.from !== undefined) add('at >=', q.from);
    if (q.to !== undefined) add('at <', q.to);
    if (q.before !== undefined) add('id <', q.before);
    values.push(q.limit);
    const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`;
    return (await this.query<AuditRow>(sql, values)).rows.map(toAudit);
  }

  async pruneAudit(before: Iso): Promise<number> {
    return this.changed('DELETE FROM audit_log WHERE at < $1', [before]);
  }

  // --- metadata history ---------------------------------------------------------------------------------

  async appendMetadataHistory(entries: Array<Omit<MetadataHistoryEntry, 'id'>>): Promise<void> {
    if (entries.length === 0) return;
    // One statement for the whole batch; WITH ORDINALITY keeps the ids in the order given.
    await this.query(
      `INSERT INTO metadata_history (endpoint_id, at, source, metadata)
       SELECT e, a, s, m FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(e, a, s, m, n) ORDER BY n`,
      [entries.map((e) => e.endpointId), entries.map((e) => e.at), entries.map((e) => e.source), entries.map((e) => JSON.stringify(e.metadata))],
    );
  }

  async queryMetadataHistory(endpointId: string, query: { before?: number; limit: number }): Promise<MetadataHistoryEntry[]> {
    const result =
      query.before === undefined
        ? await this.query<HistoryRow>(`SELECT ${HISTORY_COLUMNS} FROM metadata_history WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`, [endpointId, query.limit])
        : await this.query<HistoryRow>(`SELECT ${HISTORY_COLUMNS} FROM metadata_history WHERE endpoint_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [endpointId, query.before, query.limit]);
    return result.rows.map(toHistory);
  }

  async pruneMetadataHistory(before: Iso): Promise<number> {
    return this.changed('DELETE FROM metadata_history WHERE at < $1', [before]);
  }

  async trimMetadataHistory(endpointId: string, keep: number): Promise<number> {
    // The newest kept row is at offset keep - 1; everything older goes (none when there are fewer: id < NULL).
    return this.changed(
      `DELETE FROM metadata_history WHERE endpoint_id = $1 AND id < (
         SELECT id FROM metadata_history WHERE endpoint_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`,
      [endpointId, Math.max(1, keep) - 1],
    );
  }
}

/**
 * Opens the account tables in the database at `url`, creating or migrating them. An unreachable
 * database fails here with one line naming the URL (without password).
 */
export async function openPostgresAccountStorage(options: PoolSettings): Promise<AccountStorage> {
  return new PostgresAccountStorage(await StorePool.open({ ...options, maxConnections: options.maxConnections ?? 4 }, ACCOUNT_MIGRATIONS));
}

import type { ApiKeyRecord, AuditEntry, MetadataHistoryEntry, Role, SessionRecord, UserRecord } from '../../core/accounts.js';
import type { JsonValue, Metadata } from '../../core/types.js';

/**
 * The account tables' columns and row shapes, the same in every SQL backend (storage/sqlite/,
 * storage/postgres/): one mapping from a row to the record.
 */
export interface UserRow {
  username: string;
  role: string;
  password_hash: string;
  created_date: string;
  password_changed_date: string;
  last_sign_in_date: string | null;
}

export interface KeyRow {
  key_id: string;
  name: string;
  role: string;
  key_hash: string;
  hint: string;
  created_date: string;
  created_by: string;
  last_used_date: string | null;
  status: string;
  revoked_date: string | null;
}

export interface SessionRow {
  digest: string;
  username: string;
  created_date: string;
  expires_date: string;
}

export interface AuditRow {
  /** PostgreSQL's bigint arrives as a string. */
  id: number | string;
  at: string;
  actor_kind: string;
  actor_name: string;
  actor_role: string | null;
  client_address: string | null;
  action: string;
  method: string;
  path: string;
  endpoint_id: string | null;
  target: string | null;
  before: string | null;
  after: string | null;
}

export interface HistoryRow {
  id: number | string;
  endpoint_id: string;
  at: string;
  source: string;
  metadata: string;
}

export const toUser = (r: UserRow): UserRecord => ({
  username: r.username,
  role: r.role as Role,
  passwordHash: r.password_hash,
  createdDate: r.created_date,
  passwordChangedDate: r.password_changed_date,
  lastSignInDate: r.last_sign_in_date,
});

export const toKey = (r: KeyRow): ApiKeyRecord => ({
  keyId: r.key_id,
  name: r.name,
  role: r.role as Role,
  keyHash: r.key_hash,
  hint: r.hint,
  createdDate: r.created_date,
  createdBy: r.created_by,
  lastUsedDate: r.last_used_date,
  status: r.status as ApiKeyRecord['status'],
  revokedDate: r.revoked_date,
});

export const toSession = (r: SessionRow): SessionRecord => ({ digest: r.digest, username: r.username, createdDate: r.created_date, expiresDate: r.expires_date });

const parse = (text: string | null): JsonValue | null => (text === null ? null : (JSON.parse(text) as JsonValue));

export const toAudit = (r: AuditRow): AuditEntry => ({
  id: Number(r.id),
  at: r.at,
  actor: { kind: r.actor_kind as AuditEntry['actor']['kind'], name: r.actor_name, role: r.actor_role as Role | null },
  clientAddress: r.client_address,
  action: r.action,
  method: r.method,
  path: r.path,
  endpointId: r.endpoint_id,
  target: r.target,
  before: parse(r.before),
  after: parse(r.after),
});

export const toHistory = (r: HistoryRow): MetadataHistoryEntry => ({
  id: Number(r.id),
  endpointId: r.endpoint_id,
  at: r.at,
  source: r.source as MetadataHistoryEntry['source'],
  metadata: JSON.parse(r.metadata) as Metadata,
});

export const USER_COLUMNS = 'username, role, password_hash, created_date, password_changed_date, last_sign_in_date';
export const KEY_COLUMNS = 'key_id, name, role, key_hash, hint, created_date, created_by, last_used_date, status, revoked_date';

export const SESSION_COLUMNS = 'digest, username, created_date, expires_date';
export const AUDIT_COLUMNS = 'id, at, actor_kind, actor_name, actor_role, client_address, action, method, path, endpoint_id, target, before, after';
export const HISTORY_COLUMNS = 'id, endpoint_id, at, source, metadata';

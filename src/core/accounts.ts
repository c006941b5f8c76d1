/** Users, roles, API keys and the audit trail: the domain types of docs/accounts.md. */
import type { Iso, JsonValue, Metadata } from './types.js';

/** Ordered: each role may do everything the roles before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const USERNAME_PATTERN = /^[a-z0-9_.@-]{1,64}$/;
export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9 _.:-]{1,64}$/;
export const MIN_PASSWORD_LENGTH = 8;

export interface UserRecord {
  username: string;
  role: Role;
  /** JSON of the scrypt parameters, salt and hash (src/accounts/passwords.ts); never the password. */
  passwordHash: string;
  createdDate: Iso;
  passwordChangedDate: Iso;
  lastSignInDate: Iso | null;
}

export type ApiKeyStatus = 'ACTIVE' | 'REVOKED';

export interface ApiKeyRecord {
  keyId: string;
  name: string;
  role: Role;
  /** SHA-256 of the whole key, hex: the key itself is shown once and never stored. */
  keyHash: string;
  /** Last characters of the key so people can tell keys apart. */
  hint: string;
  createdDate: Iso;
  createdBy: string;
  lastUsedDate: Iso | null;
  status: ApiKeyStatus;
  revokedDate: Iso | null;
}

export type ActorKind = 'user' | 'api-key' | 'bootstrap-key' | 'cli';

/** Who made a request: resolved from the bearer key or the session cookie. */
export interface Principal {
  kind: ActorKind;
  /** Username, API key name, `bootstrap` or the OS user of the CLI. */
  name: string;
  role: Role;
  /** The API key's ID, for `kind: 'api-key'`. */
  keyId?: string;
}

export interface AuditEntry {
  id: number;
  at: Iso;
  actor: { kind: ActorKind; name: string; role: Role | null };
  clientAddress: string | null;
  action: string;
  method: string;
  path: string;
  endpointId: string | null;
  target: string | null;
  before: JsonValue | null;
  after: JsonValue | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditQuery {
  endpointId?: string;
  /** Actor name (username or API key name). */
  actor?: string;
  action?: string;
  /** Inclusive. */
  from?: Iso;
  /** Exclusive. */
  to?: Iso;
  /** Entries with a smaller id only (the `next` of the previous page). */
  before?: number;
  limit: number;
}

export type MetadataSource = 'device' | 'operator';

export interface MetadataHistoryEntry {
  id: number;
  endpointId: string;
  at: Iso;
  source: MetadataSource;
  metadata: Metadata;
}

/** A signed-in browser (docs/accounts.md): stored by the SHA-256 of its cookie, never the cookie. */
export interface SessionRecord {
  /** SHA-256 of the cookie value, hex. */
  digest: string;
  username: string;
  /** Sign-in time: a session older than the user's last password change is over. */
  createdDate: Iso;
  expiresDate: Iso;
}

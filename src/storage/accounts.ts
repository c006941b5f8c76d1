import type {
  ApiKeyRecord,
  AuditEntry,
  AuditQuery,
  MetadataHistoryEntry,
  NewAuditEntry,
  Role,
  SessionRecord,
  UserRecord,
} from '../core/accounts.js';
import type { Iso } from '../core/types.js';

/**
 * Users, API keys, dashboard sessions, the audit log and metadata history (docs/accounts.md). Kept apart from
 * `Storage`: these are rare operator actions (plus one batched history write per second), so a
 * backend may serve them from its own connection. Every implementation passes
 * test/storage/accounts-conformance.ts.
 *
 * Durability: a returned promise resolves only after the change is committed durably.
 * Errors: a taken username rejects with USER_CONFLICT; calls after `close()` reject with UNAVAILABLE.
 */
export interface AccountStorage {
  readonly kind: string;
  /** Creates or migrates the tables. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  // --- users ----------------------------------------------------------------------
  insertUser(user: UserRecord): Promise<void>;
  getUser(username: string): Promise<UserRecord | undefined>;
  /** Sorted by username. */
  listUsers(): Promise<UserRecord[]>;
  /** Resolves false when the user does not exist. */
  updateUser(username: string, patch: { role?: Role; passwordHash?: string; passwordChangedDate?: Iso; lastSignInDate?: Iso }): Promise<boolean>;
  deleteUser(username: string): Promise<boolean>;
  countUsers(role?: Role): Promise<number>;

  // --- API keys ---------------------------------------------------------------------
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  /** Newest first, revoked ones included. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** ACTIVE -> REVOKED; resolves false when the key does not exist or is already revoked. */
  revokeApiKey(keyId: string, at: Iso): Promise<boolean>;
  /** Sets lastUsedDate; callers throttle it. */
  touchApiKey(keyId: string, at: Iso): Promise<void>;

  // --- dashboard sessions ---------------------------------------------------------------
  // Shared by every node on the same database: a session made on one node is valid on all, and
  // one ended anywhere is over everywhere at its next request.
  insertSession(session: SessionRecord): Promise<void>;
  /** The session whatever its expiry (callers compare with their clock). */
  getSession(digest: string): Promise<SessionRecord | undefined>;
  deleteSession(digest: string): Promise<boolean>;
  /** Deletes every session of the user but `keepDigest`; resolves with how many. */
  deleteUserSessions(username: string, keepDigest?: string): Promise<number>;
  /** Deletes sessions that expired before `now`; resolves with how many. */
  pruneSessions(now: Iso): Promise<number>;

  // --- audit log ------------------------------------------------------------------------
  /** Resolves with the new entry's id (increasing). */
  appendAudit(entry: NewAuditEntry): Promise<number>;
  /** Appends in one transaction, in order (ids increase in the order given). */
  appendAuditBatch(entries: NewAuditEntry[]): Promise<void>;
  /** Newest first (by id), filtered; at most `limit` entries. */
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes entries with `at` before the date; resolves with how many. */
  pruneAudit(before: Iso): Promise<number>;

  // --- metadata history ---------------------------------------------------------------------
  /** Appends in one transaction, in order. May trade the last second's durability for speed (it is history, not state). */
  appendMetadataHistory(entries: Array<Omit<MetadataHistoryEntry, 'id'>>): Promise<void>;
  /** Newest first; `before` an id as in the audit log. */
  queryMetadataHistory(endpointId: string, query: { before?: number; limit: number }): Promise<MetadataHistoryEntry[]>;
  /** Deletes entries older than `before`; resolves with how many. */
  pruneMetadataHistory(before: Iso): Promise<number>;
  /** Deletes all but the newest `keep` entries of the endpoint; resolves with how many. */
  trimMetadataHistory(endpointId: string, keep: number): Promise<number>;
}

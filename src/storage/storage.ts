import type {
  AppVersion,
  Application,
  ClientCredentialRecord,
  ClientCredentialStatus,
  EndpointQuery,
  EndpointRecord,
  Iso,
  JsonValue,
  Metadata,
  MetadataChange,
  Page,
  TokenRecord,
  TokenStatus,
} from '../core/types.js';

/**
 * Everything Tether keeps. Every implementation (SQLite, PostgreSQL) passes the shared
 * conformance suite in test/storage/conformance.ts.
 *
 * Durability contract: a returned promise resolves only after the change is committed durably.
 * Implementations may batch concurrent writes into one transaction (group commit); they must
 * still resolve each caller only after its write is committed, and reject it if that commit fails.
 *
 * Errors: unique-key violations reject with TetherError codes ENDPOINT_CONFLICT / TOKEN_CONFLICT /
 * APPLICATION_CONFLICT / APP_VERSION_CONFLICT (from core/errors.ts). Anything else is internal.
 */
export interface Storage {
  /** `sqlite`, `postgres`, … for logs and docs. */
  readonly kind: string;

  /** Creates or migrates the schema. Idempotent. */
  init(): Promise<void>;
  /** Flushes pending writes, then releases the database. Further calls reject. */
  close(): Promise<void>;

  // --- applications ------------------------------------------------------
  insertApplication(app: Application): Promise<void>;
  getApplication(name: string): Promise<Application | undefined>;
  listApplications(): Promise<Application[]>;
  /** Deletes the application with its versions, endpoints, metadata and tokens. */
  deleteApplication(name: string): Promise<boolean>;

  insertAppVersion(version: AppVersion): Promise<void>;
  /** Replaces `extensions` and `metadataKeyAccess` of an existing version. */
  updateAppVersion(version: AppVersion): Promise<void>;
  getAppVersion(name: string): Promise<AppVersion | undefined>;
  listAppVersions(applicationName?: string): Promise<AppVersion[]>;

  // --- endpoints (Kaa EPR) ---------------------------------------------------
  /** Inserts the endpoint, its initial metadata and (optionally) its first token atomically. */
  insertEndpoint(endpoint: EndpointRecord, metadata: Metadata, token?: TokenRecord): Promise<void>;
  getEndpoint(endpointId: string, includeMetadata: boolean): Promise<EndpointRecord | undefined>;
  queryEndpoints(query: EndpointQuery): Promise<Page<EndpointRecord>>;
  /** Deletes the endpoint with its metadata and tokens. */
  deleteEndpoint(endpointId: string): Promise<boolean>;

  // --- metadata ---------------------------------------------------------------
  getMetadata(endpointId: string): Promise<Metadata | undefined>;
  /**
   * Applies the change and sets `metadataUpdatedDate` to `at`. Resolves with the endpoint's whole
   * metadata after the change, or `undefined` when the endpoint does not exist. The hot path of
   * every 10/EPMP update: implementations should group-commit.
   */
  changeMetadata(endpointId: string, change: MetadataChange, at: Iso): Promise<Metadata | undefined>;
  /** Distinct metadata keys used by any endpoint of the application, sorted. */
  metadataKeysOfApplication(applicationName: string): Promise<string[]>;

  // --- tokens (Kaa CM) ---------------------------------------------------------
  insertToken(token: TokenRecord): Promise<void>;
  findTokenByHash(applicationName: string, tokenHash: string): Promise<TokenRecord | undefined>;
  getToken(tokenId: string): Promise<TokenRecord | undefined>;
  listTokens(endpointId: string): Promise<TokenRecord[]>;
  updateTokenStatus(tokenId: string, status: TokenStatus, at: Iso): Promise<void>;

  // --- connectivity (9/ELCE) ------------------------------------------------------
  /**
   * Sets `connected` and `connectivityTs`, and `lastConnectedDate` and `lastSeen` when connecting or
   * `lastDisconnectedDate` when disconnecting.
   *
   * Several nodes: `nodeId` names the node whose session the edge is about. A connect remembers it;
   * a disconnect from a node that no longer holds the endpoint (another node's session took it over)
   * changes nothing. Without `nodeId` (one node) every edge applies.
   */
  recordConnectivity(endpointId: string, connected: boolean, at: Iso, nodeId?: string): Promise<void>;
  /** Sets `lastSeen`. Called for every device message: implementations should batch. */
  recordSeen(endpointId: string, at: Iso): Promise<void>;
  /** After an unclean stop no session survives: marks every connected endpoint disconnected at `at`
   *  (`connectivityTs` and `lastDisconnectedDate`). */
  resetConnectivity(at: Iso): Promise<number>;
  /**
   * Several nodes: marks disconnected at `at` the endpoints whose session node `nodeId` held (a
   * restarting node resets only its own; survivors release a dead node's) and returns them.
   */
  disconnectNode(nodeId: string, at: Iso): Promise<Array<{ endpointId: string; applicationName: string }>>;

  // --- settings: small JSON documents (dashboard widgets, forms, accounts) ----------
  getSetting(key: string): Promise<JsonValue | undefined>;
  putSetting(key: string, value: JsonValue): Promise<void>;
  deleteSetting(key: string): Promise<boolean>;
}

/**
 * Kaa CM client credentials (MQTT username/password and X.509 certificates). Kept apart from
 * `Storage`: credential writes are rare operator actions, so a backend may serve them from its own
 * connection. Every implementation passes test/client-auth/store-conformance.ts.
 *
 * Durability: a returned promise resolves only after the change is committed durably.
 * Errors: a taken username or certificate fingerprint rejects with CLIENT_CREDENTIAL_CONFLICT;
 * calls after `close()` reject with UNAVAILABLE.
 */
export interface ClientCredentialStore {
  readonly kind: string;
  /** Creates the table if missing. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  insert(record: ClientCredentialRecord): Promise<void>;
  get(credentialId: string): Promise<ClientCredentialRecord | undefined>;
  findByUsername(username: string): Promise<ClientCredentialRecord | undefined>;
  /** `fingerprint`: SHA-256 of the certificate's DER, lower-case hex. */
  findByFingerprint(fingerprint: string): Promise<ClientCredentialRecord | undefined>;
  /** Oldest first; all applications when `applicationName` is absent. */
  list(applicationName?: string): Promise<ClientCredentialRecord[]>;
  /** Resolves false when the credential does not exist. */
  updateStatus(credentialId: string, status: ClientCredentialStatus, at: Iso): Promise<boolean>;
  /** Replaces the gateway binding; resolves false when the credential does not exist. */
  updateBoundEndpoints(credentialId: string, endpointIds: string[]): Promise<boolean>;
  delete(credentialId: string): Promise<boolean>;
}

/**
 * Where nodes sharing a database hold leases (src/cluster/membership.ts); PostgreSQL's are in
 * src/storage/postgres/node-leases.ts.
 */
export interface NodeLeases {
  /** Creates or renews this node's lease; `created` when there was none (first start, or a survivor had given it up for dead). */
  renew(nodeId: string): Promise<{ created: boolean }>;
  /** Removes leases not renewed for `leaseMs` (other nodes only) and returns the nodes this caller must clean up after. */
  claimDead(selfId: string, leaseMs: number): Promise<string[]>;
  leave(nodeId: string): Promise<void>;
  live(): Promise<Array<{ nodeId: string; startedAt: string; heartbeatAt: string }>>;
}

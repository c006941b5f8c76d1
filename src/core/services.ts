/**
 * The contracts between Tether's parts. Transports (MQTT), extensions (EPMX) and the API depend on
 * these interfaces only; registry/, credentials/ and applications/ implement them over storage/.
 * Every method rejects with a TetherError from core/errors.ts for anything a user can cause.
 */
import type {
  Actor,
  AppVersion,
  Application,
  EndpointQuery,
  EndpointRecord,
  KeyAccess,
  Metadata,
  MetadataChange,
  Page,
  TokenRecord,
} from './types.js';

export interface Applications {
  listApplications(): Promise<Application[]>;
  /** Rejects APPLICATION_NOT_FOUND. */
  getApplication(name: string): Promise<Application>;
  createApplication(input: { name: string; description?: string }): Promise<Application>;
  deleteApplication(name: string): Promise<void>;

  listVersions(applicationName?: string): Promise<AppVersion[]>;
  /** Rejects APP_VERSION_NOT_FOUND. Served from memory: called for every device message. */
  getVersion(name: string): Promise<AppVersion>;
  /** The version as held in memory, without a promise (the request path's fast way); undefined when unknown. */
  cachedVersion(name: string): AppVersion | undefined;
  createVersion(input: {
    applicationName: string;
    name: string;
    extensions?: string[];
    metadataKeyAccess?: Record<string, KeyAccess>;
  }): Promise<AppVersion>;
  updateVersion(
    name: string,
    patch: { extensions?: string[]; metadataKeyAccess?: Record<string, KeyAccess> },
  ): Promise<AppVersion>;
  /**
   * Makes sure the applications and versions declared in config exist (creating missing ones,
   * updating extensions/key access of declared ones). Called once at start.
   */
  ensureDeclared(declared: DeclaredApplication[]): Promise<void>;
}

export interface DeclaredApplication {
  name: string;
  description?: string;
  versions: Array<{ name: string; extensions?: string[]; metadataKeyAccess?: Record<string, KeyAccess> }>;
}

export interface CreateEndpointInput {
  appVersionName: string;
  metadata?: Metadata;
  /** Custom token; generated with a cryptographic RNG when absent. */
  endpointToken?: string;
  /** Custom endpoint ID; a UUID when absent. */
  endpointId?: string;
}

export interface Registry {
  /** Creates the endpoint with its first token. The plain token is returned only here. */
  createEndpoint(input: CreateEndpointInput): Promise<{ endpoint: EndpointRecord; token: string; tokenRecord: TokenRecord }>;
  /** Rejects ENDPOINT_NOT_FOUND. */
  getEndpoint(endpointId: string, includeMetadata: boolean): Promise<EndpointRecord>;
  listEndpoints(query: EndpointQuery): Promise<Page<EndpointRecord>>;
  deleteEndpoint(endpointId: string): Promise<void>;

  /** Whole metadata as the actor may see it (devices: hidden keys filtered out). */
  getMetadata(endpointId: string, actor: Actor): Promise<Metadata>;
  /**
   * Validates keys (10/EPMP pattern) and, for devices, the version's key access rules, then applies
   * the change durably and publishes `metadata.updated`. Resolves with the new whole metadata.
   * 10/EPMP: a device's full update does not remove keys it may not write.
   */
  changeMetadata(endpointId: string, change: MetadataChange, actor: Actor): Promise<Metadata>;
  /** Keys of the endpoint's metadata the actor may see. */
  metadataKeys(endpointId: string, actor: Actor): Promise<string[]>;
  applicationMetadataKeys(applicationName: string): Promise<string[]>;
}

export interface Credentials {
  /** Issues a token for the endpoint (custom or generated). The plain token is returned only here. */
  issueToken(endpointId: string, token?: string): Promise<{ token: string; record: TokenRecord }>;
  listTokens(endpointId: string): Promise<TokenRecord[]>;
  /**
   * suspend: ACTIVE|INACTIVE -> SUSPENDED; reactivate: SUSPENDED -> ACTIVE; revoke: any but REVOKED -> REVOKED.
   * Publishes `token.status-changed` so transports disconnect sessions using the token.
   */
  changeTokenStatus(endpointId: string, tokenId: string, action: 'suspend' | 'reactivate' | 'revoke'): Promise<TokenRecord>;
  /**
   * Resolves the plain token from a 1/KP topic for an application. Rejects TOKEN_INVALID,
   * TOKEN_UNKNOWN, TOKEN_SUSPENDED, TOKEN_REVOKED. Marks an INACTIVE token ACTIVE on first use.
   * Hot path: cached in memory, the cache kept true by `token.status-changed` events.
   */
  resolveToken(applicationName: string, token: string): Promise<TokenRecord>;
}

/** 9/ELCE: which endpoints are connected, through which sessions. */
export interface Connectivity {
  /** A session spoke for the endpoint (first valid request on its token). Idempotent per session. */
  attach(sessionId: string, endpointId: string, applicationName: string): Promise<void>;
  /** The session ended (disconnect, keepalive expiry, takeover, kick). */
  detachSession(sessionId: string): Promise<void>;
  /** A device message arrived on behalf of the endpoint. */
  seen(endpointId: string): void;
  /** Sessions that currently speak for the endpoint. */
  sessionsOf(endpointId: string): string[];
}

export interface Services {
  applications: Applications;
  registry: Registry;
  credentials: Credentials;
  connectivity: Connectivity;
}

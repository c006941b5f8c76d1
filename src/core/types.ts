/** ISO-8601 UTC timestamp, e.g. `2026-11-27T09:39:58.123Z`. */
export type Iso = string;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** 10/EPMP: endpoint metadata is a set of key-value pairs; values are any JSON. */
export type Metadata = Record<string, JsonValue>;

/**
 * How devices may touch a metadata key (10/EPMP "server MAY restrict access").
 * Keys without a rule are read-write. Operators (REST, dashboard) are never restricted.
 */
export type KeyAccess = 'read-write' | 'read-only' | 'hidden';

export interface Application {
  name: string;
  description: string;
  createdDate: Iso;
}

export interface AppVersion {
  /** Globally unique, appears as the second level of every 1/KP topic. */
  name: string;
  applicationName: string;
  registeredDate: Iso;
  /** Extension instance names enabled for this version, e.g. `['epmx']`. */
  extensions: string[];
  /** Per-key device access rules; a key not listed here is `read-write`. */
  metadataKeyAccess: Record<string, KeyAccess>;
}

export interface EndpointRecord {
  endpointId: string;
  applicationName: string;
  appVersionName: string;
  createdDate: Iso;
  metadataUpdatedDate: Iso | null;
  /** True while at least one MQTT session speaks for this endpoint. */
  connected: boolean;
  /** Time of the last connect or disconnect. */
  connectivityTs: Iso | null;
  /** Time of the last connect (9/ELCE), kept apart from the last disconnect for connection history. */
  lastConnectedDate: Iso | null;
  /** Time of the last disconnect, including the one a restart records for stale sessions. */
  lastDisconnectedDate: Iso | null;
  /** Time of the last message from a device on behalf of this endpoint. */
  lastSeen: Iso | null;
  /** Present only when the caller asked for metadata. */
  metadata?: Metadata;
}

/** Kaa CM token lifecycle: INACTIVE -> ACTIVE (first use) -> SUSPENDED (reversible) / REVOKED (final). */
export type TokenStatus = 'INACTIVE' | 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

export interface TokenRecord {
  tokenId: string;
  applicationName: string;
  endpointId: string;
  /** SHA-256 of the plain token, hex. The plain token is never stored. */
  tokenHash: string;
  status: TokenStatus;
  createdDate: Iso;
  statusUpdatedDate: Iso;
  /** Last characters of the token so an operator can tell tokens apart, e.g. `…a1b2`. */
  hint: string;
}

export interface Page<T> {
  totalElements: number;
  content: T[];
}

export type SortDirection = 'asc' | 'desc';

/** A sortable endpoint field, or `metadata.<key>` to sort by a metadata value. */
export type EndpointSortField =
  | 'endpointId'
  | 'createdDate'
  | 'metadataUpdatedDate'
  | 'connected'
  | 'connectivityTs'
  | 'lastSeen'
  | `metadata.${string}`;

export interface MetadataFilter {
  key: string;
  /** `eq`: JSON-equal; `contains`: case-insensitive substring of the value rendered as text; `exists`: key present. */
  op: 'eq' | 'contains' | 'exists';
  value?: JsonValue;
}

export interface EndpointQuery {
  applicationName?: string;
  appVersionName?: string;
  endpointIds?: string[];
  connected?: boolean;
  metadataFilters?: MetadataFilter[];
  /** Case-insensitive substring searched in the endpoint ID and in the values of `searchKeys` (all metadata when omitted). */
  search?: string;
  searchKeys?: string[];
  sort?: { field: EndpointSortField; direction: SortDirection };
  offset: number;
  limit: number;
  includeMetadata: boolean;
}

export type MetadataChange =
  /** 10/EPMP `update`: the payload is the new state; absent keys are removed. */
  | { kind: 'replace'; metadata: Metadata }
  /** 10/EPMP `update/keys`: create or update only the given keys. */
  | { kind: 'merge'; metadata: Metadata }
  /** 10/EPMP `delete/keys`. */
  | { kind: 'delete'; keys: string[] };

/** Who asked for a change: devices are subject to key access rules, operators are not. */
export type Actor = 'device' | 'operator';

/** Kaa CM client credentials: how an MQTT client (a device or gateway) proves who it is at CONNECT. */
export type ClientCredentialKind = 'basic' | 'x509';

/** Like endpoint tokens: SUSPENDED is reversible, REVOKED is final. */
export type ClientCredentialStatus = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

export interface ClientCredentialRecord {
  credentialId: string;
  /** The application whose 1/KP requests the credential may make. */
  applicationName: string;
  kind: ClientCredentialKind;
  /** basic: the MQTT CONNECT username, unique across applications (a CONNECT names no application). */
  username: string | null;
  /** basic: `scrypt$N$r$p$<salt>$<key>` (base64url). The password itself is never stored. */
  passwordHash: string | null;
  /** x509: SHA-256 of the certificate's DER encoding, lower-case hex, unique. */
  certificateFingerprint: string | null;
  /** x509: the certificate's subject, for people telling credentials apart. */
  certificateSubject: string | null;
  /** Gateway binding: when not empty, sessions authenticated with this credential may only use tokens of these endpoints. */
  boundEndpoints: string[];
  status: ClientCredentialStatus;
  description: string;
  createdDate: Iso;
  statusUpdatedDate: Iso;
}

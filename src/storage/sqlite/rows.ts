import type { AppVersion, Application, EndpointRecord, KeyAccess, Metadata, TokenRecord, TokenStatus } from '../../core/types.js';

/** Column names as stored; mapping to and from the domain types lives only here. */
export interface ApplicationRow {
  name: string;
  description: string;
  created_date: string;
}

export interface AppVersionRow {
  name: string;
  application_name: string;
  registered_date: string;
  extensions: string;
  metadata_key_access: string;
}

export interface EndpointRow {
  seq: number;
  endpoint_id: string;
  application_name: string;
  app_version_name: string;
  created_date: string;
  metadata_updated_date: string | null;
  connected: number;
  connectivity_ts: string | null;
  last_connected_date: string | null;
  last_disconnected_date: string | null;
  last_seen: string | null;
  metadata?: string;
}

export interface TokenRow {
  token_id: string;
  application_name: string;
  endpoint_id: string;
  token_hash: string;
  status: string;
  created_date: string;
  status_updated_date: string;
  hint: string;
}

export function toApplication(row: ApplicationRow): Application {
  return { name: row.name, description: row.description, createdDate: row.created_date };
}

export function toAppVersion(row: AppVersionRow): AppVersion {
  return {
    name: row.name,
    applicationName: row.application_name,
    registeredDate: row.registered_date,
    extensions: JSON.parse(row.extensions) as string[],
    metadataKeyAccess: JSON.parse(row.metadata_key_access) as Record<string, KeyAccess>,
  };
}

/** Also PostgreSQL's endpoint rows, whose `connected` is a boolean (SQLite's is 0 or 1). */
export function toEndpoint(row: Omit<EndpointRow, 'seq' | 'connected'> & { connected: number | boolean }, includeMetadata: boolean): EndpointRecord {
  const record: EndpointRecord = {
    endpointId: row.endpoint_id,
    applicationName: row.application_name,
    appVersionName: row.app_version_name,
    createdDate: row.created_date,
    metadataUpdatedDate: row.metadata_updated_date,
    connected: row.connected === 1 || row.connected === true,
    connectivityTs: row.connectivity_ts,
    lastConnectedDate: row.last_connected_date,
    lastDisconnectedDate: row.last_disconnected_date,
    lastSeen: row.last_seen,
  };
  if (includeMetadata) record.metadata = JSON.parse(row.metadata ?? '{}') as Metadata;
  return record;
}

export function toToken(row: TokenRow): TokenRecord {
  return {
    tokenId: row.token_id,
    applicationName: row.application_name,
    endpointId: row.endpoint_id,
    tokenHash: row.token_hash,
    status: row.status as TokenStatus,
    createdDate: row.created_date,
    statusUpdatedDate: row.status_updated_date,
    hint: row.hint,
  };
}

export function tokenParams(token: TokenRecord) {
  return {
    token_id: token.tokenId,
    application_name: token.applicationName,
    endpoint_id: token.endpointId,
    token_hash: token.tokenHash,
    status: token.status,
    created_date: token.createdDate,
    status_updated_date: token.statusUpdatedDate,
    hint: token.hint,
  };
}

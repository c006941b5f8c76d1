import { sharedName } from '../../core/flat.js';
import type { AppVersion, Application, EndpointRecord, KeyAccess, Metadata, TokenRecord, TokenStatus } from '../../core/types.js';

/**
 * Column names as stored, the same in SQLite and PostgreSQL; mapping to and from the domain types
 * lives only here, and both dialects import it.
 */
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

/** An endpoints row; the dialects differ in `seq` and `connected` (SQLite: numbers, PostgreSQL: a bigint as text and a boolean). */
export interface EndpointRow<Seq = number, Connected = number> {
  seq: Seq;
  endpoint_id: string;
  application_name: string;
  app_version_name: string;
  created_date: string;
  metadata_updated_date: string | null;
  connected: Connected;
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

/** An endpoints row's columns (alias `e`) in `EndpointRow` order, without the metadata document. */
export const ENDPOINT_COLUMNS =
  'e.seq, e.endpoint_id, e.application_name, e.app_version_name, e.created_date, e.metadata_updated_date, e.connected, e.connectivity_ts, e.last_connected_date, e.last_disconnected_date, e.last_seen';

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

export function toEndpoint(row: EndpointRow<unknown, number | boolean>, includeMetadata: boolean): EndpointRecord {
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
    // Resolved tokens stay in caches and sessions for every connected device: one copy of the name.
    applicationName: sharedName(row.application_name),
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

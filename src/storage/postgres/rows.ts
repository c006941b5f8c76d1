import type { EndpointRecord, JsonValue, Metadata } from '../../core/types.js';
import { indexRowOf } from '../sqlite/metadata-rows.js';
import type { EndpointRow as SqliteEndpointRow } from '../sqlite/rows.js';

/**
 * Row mapping for PostgreSQL. Applications, versions and tokens have the same columns as in SQLite
 * (src/storage/sqlite/rows.ts maps them); endpoints differ: `connected` is a boolean and `seq` a
 * bigint, which pg returns as a string.
 */
export { toAppVersion, toApplication, toToken } from '../sqlite/rows.js';
export type { AppVersionRow, ApplicationRow, TokenRow } from '../sqlite/rows.js';

export type EndpointRow = Omit<SqliteEndpointRow, 'seq' | 'connected'> & { seq: string; connected: boolean };

export const ENDPOINT_COLUMNS =
  'e.seq, e.endpoint_id, e.application_name, e.app_version_name, e.created_date, e.metadata_updated_date, e.connected, e.connectivity_ts, e.last_connected_date, e.last_disconnected_date, e.last_seen';

export function toEndpoint(row: EndpointRow, includeMetadata: boolean): EndpointRecord {
  const record: EndpointRecord = {
    endpointId: row.endpoint_id,
    applicationName: row.application_name,
    appVersionName: row.app_version_name,
    createdDate: row.created_date,
    metadataUpdatedDate: row.metadata_updated_date,
    connected: row.connected,
    connectivityTs: row.connectivity_ts,
    lastConnectedDate: row.last_connected_date,
    lastDisconnectedDate: row.last_disconnected_date,
    lastSeen: row.last_seen,
  };
  if (includeMetadata) record.metadata = JSON.parse(row.metadata ?? '{}') as Metadata;
  return record;
}

/**
 * PostgreSQL text cannot hold NUL. Derived search and sort text (never returned to anyone) maps it
 * to U+FFFF, and so does every needle, so "contains a NUL" still means what it says.
 */
export function pgText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFF') : text;
}

/** The derived columns of one endpoint_metadata row: numbers (and booleans) sort before text. */
export interface PgIndexRow {
  canon: string;
  sortKind: number | null;
  sortNum: number | null;
  sortText: string | null;
  searchText: string;
}

export function pgIndexRowOf(value: JsonValue): PgIndexRow {
  const { canon, sortValue, searchText } = indexRowOf(value);
  return {
    canon: pgText(canon),
    sortKind: sortValue === null ? null : typeof sortValue === 'number' ? 0 : 1,
    sortNum: typeof sortValue === 'number' ? sortValue : null,
    sortText: typeof sortValue === 'string' ? pgText(sortValue) : null,
    searchText: pgText(searchText),
  };
}

/** The LIKE pattern matching `needle` as a substring (backslash is LIKE's default escape). */
export function likePattern(needle: string): string {
  return `%${pgText(needle).replace(/[\\%_]/g, '\\$&')}%`;
}

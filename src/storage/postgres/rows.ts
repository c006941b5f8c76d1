import type { JsonValue } from '../../core/types.js';
import { indexRowOf } from '../sqlite/metadata-rows.js';
import type { EndpointRow as SqliteEndpointRow } from '../sqlite/rows.js';

/**
 * Row mapping for PostgreSQL. The rows have the same columns as in SQLite (src/storage/sqlite/rows.ts
 * maps them all); endpoints differ in types only: `connected` is a boolean and `seq` a bigint, which
 * pg returns as a string.
 */
export { toAppVersion, toApplication, toEndpoint, toToken } from '../sqlite/rows.js';
export type { AppVersionRow, ApplicationRow, TokenRow } from '../sqlite/rows.js';

export type EndpointRow = Omit<SqliteEndpointRow, 'seq' | 'connected'> & { seq: string; connected: boolean };

export const ENDPOINT_COLUMNS =
  'e.seq, e.endpoint_id, e.application_name, e.app_version_name, e.created_date, e.metadata_updated_date, e.connected, e.connectivity_ts, e.last_connected_date, e.last_disconnected_date, e.last_seen';

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

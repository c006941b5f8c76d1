import type { JsonValue } from '../../core/types.js';
import { indexRowOf } from '../rows/metadata.js';
import type { EndpointRow } from '../rows/registry.js';

/**
 * What only PostgreSQL needs on top of the shared rows (src/storage/rows/): `seq` is a bigint, which
 * pg returns as a string, `connected` a boolean, and text cannot hold NUL.
 */
export type PgEndpointRow = EndpointRow<string, boolean>;

/**
 * PostgreSQL text cannot hold NUL. Derived search and sort text (never returned to anyone) maps it
 * to U+FFFF, and so does every needle, so "contains a NUL" still means what it says.
 */
function pgText(text: string): string {
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

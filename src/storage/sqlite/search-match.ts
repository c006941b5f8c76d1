/**
 * Substring matching through the FTS5 trigram index (see schema.ts). Needles and indexed text are
 * both lower-cased by JavaScript, so "case-insensitive substring" is a case-sensitive trigram match.
 */

/** The index row of an endpoint's ID has key_id 0; metadata keys have their `metadata_keys.id`. */
export const SEARCH_FROM_SQL = 'FROM endpoint_search WHERE endpoint_search MATCH ?';
/** The endpoint `seq` of an index row. Rows come in rowid order, so one endpoint's rows are adjacent. */
export const SEARCH_SEQ_SQL = 'rowid >> 32';
export const SEARCH_MATCH_SQL = `SELECT ${SEARCH_SEQ_SQL} ${SEARCH_FROM_SQL}`;
export const SEARCH_KEY_ID_SQL = '(rowid & 4294967295)';

/**
 * The FTS5 query matching `needle` as a substring, or `undefined` when the index cannot answer and
 * the caller must scan: a trigram index matches nothing for needles under 3 characters, and an FTS5
 * query string ends at a NUL character.
 */
export function trigramQuery(needle: string): string | undefined {
  if (needle.includes('\u0000')) return undefined;
  // The trigram tokenizer counts Unicode characters (code points), not UTF-16 units.
  let characters = 0;
  for (const _ of needle) if (++characters >= 3) break;
  if (characters < 3) return undefined;
  // Inside an FTS5 string everything is literal (operators, *, ^, :, parentheses) except `"`, which
  // is escaped by doubling; the whole needle becomes one phrase: consecutive trigrams = substring.
  return `"${needle.replaceAll('"', '""')}"`;
}

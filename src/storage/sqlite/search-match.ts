/**
 * Substring matching through the FTS5 trigram index (see schema.ts). Needles and indexed text are
 * both lower-cased by JavaScript, so "case-insensitive substring" is a case-sensitive trigram match.
 */

/**
 * Index rows as of the last commit: the FTS5 index where it is current, and the rows still queued in
 * endpoint_search_pending (the writer applies that queue to the index at most every
 * SEARCH_INDEX_LAG_MS, see write-ops.ts), matched by `instr` there. Queued rows are few and a
 * queued row hides its stale index row, so a search sees every committed value, at once.
 * Parameters: the FTS5 query (trigramQuery) and the lower-cased needle.
 * The index row of an endpoint's ID has key_id 0; metadata keys have their `metadata_keys.id`.
 */
export const SEARCH_FROM_SQL =
  'FROM (SELECT rowid AS id FROM endpoint_search WHERE endpoint_search MATCH ? AND rowid NOT IN (SELECT rowid FROM endpoint_search_pending)' +
  ' UNION ALL SELECT rowid AS id FROM endpoint_search_pending WHERE instr(text, ?) > 0) WHERE 1';
/** The endpoint `seq` of an index row. */
export const SEARCH_SEQ_SQL = 'id >> 32';
export const SEARCH_MATCH_SQL = `SELECT ${SEARCH_SEQ_SQL} ${SEARCH_FROM_SQL}`;
export const SEARCH_KEY_ID_SQL = '(id & 4294967295)';

/** The parameters SEARCH_FROM_SQL takes for a needle the index can answer (trigramQuery gave `match`). */
export function searchParams(match: string, needle: string): [string, string] {
  return [match, needle];
}

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

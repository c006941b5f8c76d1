import type { EndpointQuery, JsonValue, MetadataFilter } from '../../core/types.js';
import { errors } from '../../core/errors.js';
import { indexRowOf, renderText } from './metadata-rows.js';
import { SEARCH_KEY_ID_SQL, SEARCH_MATCH_SQL, trigramQuery } from './search-match.js';

/**
 * Turns an EndpointQuery into SQL. Only fixed fragments from this file are concatenated; every
 * user value (IDs, metadata keys, search terms, filter values) is a bound parameter, and sort
 * fields come from the whitelist below.
 */
/** Runs a statement (prepared and cached by the caller) and returns its rows. */
export type RunSql = (sql: string, params: unknown[]) => unknown[];

export interface EndpointPagePlan {
  totalElements: number;
  /** `seq`s of the page's endpoints, in page order. */
  seqs: number[];
}

export const ENDPOINT_COLUMNS =
  'e.seq, e.endpoint_id, e.application_name, e.app_version_name, e.created_date, e.metadata_updated_date, e.connected, e.connectivity_ts, e.last_seen';

/** Column, and whether it can be NULL (those get NULLS LAST; the others keep using their index). */
const SORT_COLUMNS: Record<string, { column: string; nullable: boolean }> = {
  endpointId: { column: 'e.endpoint_id', nullable: false },
  createdDate: { column: 'e.created_date', nullable: false },
  metadataUpdatedDate: { column: 'e.metadata_updated_date', nullable: true },
  connected: { column: 'e.connected', nullable: false },
  connectivityTs: { column: 'e.connectivity_ts', nullable: true },
  lastSeen: { column: 'e.last_seen', nullable: true },
};

const DIRECTIONS = { asc: 'ASC', desc: 'DESC' } as const;

/**
 * Counts the matches and picks the page's `seq`s. Only `seq` goes through the sort (never whole rows
 * with their metadata); the caller then fetches the page's rows by `seq`.
 * Missing (or null) values sort last in both directions: a dashboard sorting by temperature wants
 * the devices that report one first.
 */
export function planEndpointPage(query: EndpointQuery, run: RunSql): EndpointPagePlan {
  const { whereSql, whereParams, onlyApplication } = compileWhere(query);
  const totalElements = countMatches(query, whereSql, whereParams, run);
  const limit = Math.max(0, Math.floor(query.limit));
  const offset = Math.max(0, Math.floor(query.offset));
  if (limit === 0 || offset >= totalElements) return { totalElements, seqs: [] };

  const direction = DIRECTIONS[query.sort?.direction ?? 'asc'] ?? 'ASC';
  const field = query.sort?.field;
  const seqsOf = (rows: unknown[]) => (rows as Array<{ seq: number }>).map((r) => r.seq);

  if (field === undefined) {
    const sql = `SELECT e.seq FROM endpoints e${whereSql} ORDER BY e.seq ${direction} LIMIT ? OFFSET ?`;
    return { totalElements, seqs: seqsOf(run(sql, [...whereParams, limit, offset])) };
  }
  if (!field.startsWith('metadata.')) {
    const sortColumn = SORT_COLUMNS[field];
    if (sortColumn === undefined) {
      throw errors.validation(`sort field ${JSON.stringify(field)} is unknown; use one of ${Object.keys(SORT_COLUMNS).join(', ')} or metadata.<key>`);
    }
    // seq breaks ties, so pages never overlap or skip rows with equal sort values.
    const nulls = sortColumn.nullable ? ' NULLS LAST' : '';
    const sql = `SELECT e.seq FROM endpoints e${whereSql} ORDER BY ${sortColumn.column} ${direction}${nulls}, e.seq ${direction} LIMIT ? OFFSET ?`;
    return { totalElements, seqs: seqsOf(run(sql, [...whereParams, limit, offset])) };
  }

  const key = field.slice('metadata.'.length);
  const and = whereSql === '' ? ' WHERE' : `${whereSql} AND`;
  if (query.applicationName === undefined) {
    const sql =
      `SELECT e.seq FROM endpoints e LEFT JOIN endpoint_metadata s ON s.endpoint_seq = e.seq AND s.key = ?` +
      `${whereSql} ORDER BY s.sort_value ${direction} NULLS LAST, e.seq ${direction} LIMIT ? OFFSET ?`;
    return { totalElements, seqs: seqsOf(run(sql, [key, ...whereParams, limit, offset])) };
  }

  // Sorting by a metadata key walks the (application_name, key, sort_value, endpoint_seq) index, so a
  // page costs about `offset + limit` index steps however many endpoints there are. Endpoints without
  // a value for the key ("unkeyed") are not in that index range and form their own run, ordered by seq.
  // With no condition beyond the application (which the index row carries) the walk needs no join:
  // a deep page (offset 50,000) then costs index steps only, not one endpoint lookup per skipped row.
  const keyedSql = onlyApplication
    ? `SELECT s.endpoint_seq AS seq FROM endpoint_metadata s WHERE s.application_name = ? AND s.key = ? AND s.sort_value IS NOT NULL` +
      ` ORDER BY s.sort_value ${direction}, s.endpoint_seq ${direction} LIMIT ? OFFSET ?`
    : `SELECT s.endpoint_seq AS seq FROM endpoint_metadata s JOIN endpoints e ON e.seq = s.endpoint_seq` +
      `${and} s.application_name = ? AND s.key = ? AND s.sort_value IS NOT NULL` +
      ` ORDER BY s.sort_value ${direction}, s.endpoint_seq ${direction} LIMIT ? OFFSET ?`;
  const unkeyedWhere = `${and} NOT EXISTS (SELECT 1 FROM endpoint_metadata s WHERE s.endpoint_seq = e.seq AND s.key = ? AND s.sort_value IS NOT NULL)`;
  const unkeyedSql = `SELECT e.seq FROM endpoints e${unkeyedWhere} ORDER BY e.seq ${direction} LIMIT ? OFFSET ?`;
  const keyedParams = onlyApplication ? [] : whereParams;
  const keyed = (lim: number, off: number) => seqsOf(run(keyedSql, [...keyedParams, query.applicationName, key, lim, off]));
  const unkeyed = (lim: number, off: number) => seqsOf(run(unkeyedSql, [...whereParams, key, lim, off]));
  const unkeyedCount = () => (run(`SELECT count(*) AS n FROM endpoints e${unkeyedWhere}`, [...whereParams, key])[0] as { n: number }).n;

  // Keyed endpoints come first: read their page from the index; only when it runs out do we need to
  // know how many there were, and only when that is not evident from the rows do we count.
  const head = keyed(limit, offset);
  if (head.length === limit) return { totalElements, seqs: head };
  const keyedTotal = head.length > 0 || offset === 0 ? offset + head.length : totalElements - unkeyedCount();
  const tail = unkeyed(limit - head.length, Math.max(0, offset + head.length - keyedTotal));
  return { totalElements, seqs: [...head, ...tail] };
}

/**
 * Counts the endpoints matching the query. Without filters beyond application and connected state
 * (the dashboard's default list) the count comes from endpoint_counts, kept by triggers, instead of
 * walking an index entry per endpoint.
 */
function countMatches(query: EndpointQuery, whereSql: string, whereParams: unknown[], run: RunSql): number {
  const unfiltered =
    query.appVersionName === undefined &&
    query.endpointIds === undefined &&
    (query.metadataFilters ?? []).length === 0 &&
    (query.search === undefined || query.search === '');
  if (unfiltered) {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.applicationName !== undefined) {
      where.push('application_name = ?');
      params.push(query.applicationName);
    }
    if (query.connected !== undefined) {
      where.push('connected = ?');
      params.push(query.connected ? 1 : 0);
    }
    const sql = `SELECT coalesce(sum(n), 0) AS n FROM endpoint_counts${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    return (run(sql, params)[0] as { n: number }).n;
  }
  return (run(`SELECT count(*) AS n FROM endpoints e${whereSql}`, whereParams)[0] as { n: number }).n;
}

function compileWhere(query: EndpointQuery): { whereSql: string; whereParams: unknown[]; onlyApplication: boolean } {
  const where: string[] = [];
  const whereParams: unknown[] = [];

  if (query.applicationName !== undefined) {
    // With an eq filter the matching seqs come from the metadata index; "+" keeps the planner (which
    // may have no statistics yet on a freshly grown file) from scanning the application instead.
    const hasEq = (query.metadataFilters ?? []).some((f) => f.op === 'eq');
    where.push(hasEq ? '+e.application_name = ?' : 'e.application_name = ?');
    whereParams.push(query.applicationName);
  }
  if (query.appVersionName !== undefined) {
    where.push('e.app_version_name = ?');
    whereParams.push(query.appVersionName);
  }
  if (query.endpointIds !== undefined) {
    where.push('e.endpoint_id IN (SELECT value FROM json_each(?))');
    whereParams.push(JSON.stringify(query.endpointIds));
  }
  if (query.connected !== undefined) {
    where.push('e.connected = ?');
    whereParams.push(query.connected ? 1 : 0);
  }
  for (const filter of query.metadataFilters ?? []) {
    compileFilter(filter, query.applicationName, where, whereParams);
  }
  if (query.search !== undefined && query.search !== '') {
    const needle = query.search.toLowerCase();
    const match = trigramQuery(needle);
    if (match !== undefined) {
      // The index holds the endpoint ID (key_id 0) and every value: one lookup, no scan.
      if (query.searchKeys === undefined) {
        where.push(`e.seq IN (${SEARCH_MATCH_SQL})`);
        whereParams.push(match);
      } else {
        where.push(
          `e.seq IN (${SEARCH_MATCH_SQL} AND ${SEARCH_KEY_ID_SQL} IN` +
            ' (SELECT 0 UNION ALL SELECT id FROM metadata_keys WHERE key IN (SELECT value FROM json_each(?))))',
        );
        whereParams.push(match, JSON.stringify(query.searchKeys));
      }
    } else if (query.searchKeys === undefined) {
      // Needles under 3 characters (or with NUL) scan: the trigram index cannot answer them.
      where.push('instr(e.search_text, ?) > 0');
      whereParams.push(needle);
    } else {
      where.push(
        '(instr(lower(e.endpoint_id), ?) > 0 OR EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq' +
          ' AND m.key IN (SELECT value FROM json_each(?)) AND instr(m.search_text, ?) > 0))',
      );
      whereParams.push(needle, JSON.stringify(query.searchKeys), needle);
    }
  }
  const onlyApplication = where.length === 1 && query.applicationName !== undefined;
  return { whereSql: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', whereParams, onlyApplication };
}

function compileFilter(filter: MetadataFilter, applicationName: string | undefined, where: string[], params: unknown[]): void {
  switch (filter.op) {
    case 'exists':
      where.push('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ?)');
      params.push(filter.key);
      return;
    case 'eq': {
      const { canon, sortValue } = indexRowOf(filter.value ?? null);
      if (applicationName !== undefined) {
        // Walks the (application_name, key, sort_value) index: selective values are found directly.
        where.push(
          'e.seq IN (SELECT m.endpoint_seq FROM endpoint_metadata m WHERE m.application_name = ? AND m.key = ? AND m.sort_value IS ? AND m.canon = ?)',
        );
        params.push(applicationName, filter.key, sortValue, canon);
      } else {
        where.push('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ? AND m.canon = ?)');
        params.push(filter.key, canon);
      }
      return;
    }
    case 'contains': {
      const needle = renderText((filter.value ?? '') as JsonValue).toLowerCase();
      const match = trigramQuery(needle);
      if (match !== undefined) {
        where.push(`e.seq IN (${SEARCH_MATCH_SQL} AND ${SEARCH_KEY_ID_SQL} = (SELECT id FROM metadata_keys WHERE key = ?))`);
        params.push(match, filter.key);
      } else {
        // Needles under 3 characters (or with NUL) scan: the trigram index cannot answer them.
        where.push('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ? AND instr(m.search_text, ?) > 0)');
        params.push(filter.key, needle);
      }
      return;
    }
  }
}

import type { EndpointQuery, JsonValue, MetadataFilter } from '../../core/types.js';
import { errors } from '../../core/errors.js';
import { indexRowOf, renderText } from './metadata-rows.js';

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
  const { whereSql, whereParams } = compileWhere(query);
  const countRow = run(`SELECT count(*) AS n FROM endpoints e${whereSql}`, whereParams)[0] as { n: number };
  const totalElements = countRow.n;
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
  const keyedSql =
    `SELECT s.endpoint_seq AS seq FROM endpoint_metadata s JOIN endpoints e ON e.seq = s.endpoint_seq` +
    `${and} s.application_name = ? AND s.key = ? AND s.sort_value IS NOT NULL` +
    ` ORDER BY s.sort_value ${direction}, s.endpoint_seq ${direction} LIMIT ? OFFSET ?`;
  const unkeyedWhere = `${and} NOT EXISTS (SELECT 1 FROM endpoint_metadata s WHERE s.endpoint_seq = e.seq AND s.key = ? AND s.sort_value IS NOT NULL)`;
  const unkeyedSql = `SELECT e.seq FROM endpoints e${unkeyedWhere} ORDER BY e.seq ${direction} LIMIT ? OFFSET ?`;
  const keyed = (lim: number, off: number) => seqsOf(run(keyedSql, [...whereParams, query.applicationName, key, lim, off]));
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

function compileWhere(query: EndpointQuery): { whereSql: string; whereParams: unknown[] } {
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
    if (query.searchKeys === undefined) {
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
  return { whereSql: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', whereParams };
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
    case 'contains':
      where.push('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ? AND instr(m.search_text, ?) > 0)');
      params.push(filter.key, renderText((filter.value ?? '') as JsonValue).toLowerCase());
      return;
  }
}

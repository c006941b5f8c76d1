import type { EndpointQuery, JsonValue, MetadataFilter } from '../../core/types.js';
import { errors } from '../../core/errors.js';
import { indexRowOf, renderText } from './metadata-rows.js';

/**
 * Compiles an EndpointQuery into SQL. Only fixed fragments from this file are concatenated; every
 * user value (IDs, metadata keys, search terms, filter values) is a bound parameter, and sort
 * fields come from the whitelist below.
 */
export interface CompiledEndpointQuery {
  pageSql: string;
  pageParams: unknown[];
  countSql: string;
  countParams: unknown[];
}

const ENDPOINT_COLUMNS =
  'e.seq, e.endpoint_id, e.application_name, e.app_version_name, e.created_date, e.metadata_updated_date, e.connected, e.connectivity_ts, e.last_seen';

const SORT_COLUMNS: Record<string, string> = {
  endpointId: 'e.endpoint_id',
  createdDate: 'e.created_date',
  metadataUpdatedDate: 'e.metadata_updated_date',
  connected: 'e.connected',
  connectivityTs: 'e.connectivity_ts',
  lastSeen: 'e.last_seen',
};

const DIRECTIONS = { asc: 'ASC', desc: 'DESC' } as const;

export function compileEndpointQuery(query: EndpointQuery): CompiledEndpointQuery {
  const where: string[] = [];
  const whereParams: unknown[] = [];

  if (query.applicationName !== undefined) {
    where.push('e.application_name = ?');
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

  const whereSql = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  const direction = DIRECTIONS[query.sort?.direction ?? 'asc'] ?? 'ASC';
  let join = '';
  const joinParams: unknown[] = [];
  let orderColumn: string;
  const field = query.sort?.field;
  if (field === undefined) {
    orderColumn = '';
  } else if (field.startsWith('metadata.')) {
    join = ' LEFT JOIN endpoint_metadata s ON s.endpoint_seq = e.seq AND s.key = ?';
    joinParams.push(field.slice('metadata.'.length));
    orderColumn = 's.sort_value';
  } else {
    const column = SORT_COLUMNS[field];
    if (column === undefined) throw errors.validation(`sort field ${JSON.stringify(field)} is unknown; use one of ${Object.keys(SORT_COLUMNS).join(', ')} or metadata.<key>`);
    orderColumn = column;
  }
  // seq breaks ties, so pages never overlap or skip rows with equal sort values.
  const orderBy = orderColumn === '' ? ` ORDER BY e.seq ${direction}` : ` ORDER BY ${orderColumn} ${direction}, e.seq ${direction}`;
  const columns = query.includeMetadata ? `${ENDPOINT_COLUMNS}, e.metadata` : ENDPOINT_COLUMNS;
  const limit = Math.max(0, Math.floor(query.limit));
  const offset = Math.max(0, Math.floor(query.offset));

  return {
    pageSql: `SELECT ${columns} FROM endpoints e${join}${whereSql}${orderBy} LIMIT ? OFFSET ?`,
    pageParams: [...joinParams, ...whereParams, limit, offset],
    countSql: `SELECT count(*) AS n FROM endpoints e${whereSql}`,
    countParams: whereParams,
  };
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

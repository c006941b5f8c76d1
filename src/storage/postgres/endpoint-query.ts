import { errors } from '../../core/errors.js';
import type { EndpointQuery, JsonValue, MetadataFilter } from '../../core/types.js';
import { renderText } from '../rows/metadata.js';
import { likePattern, pgIndexRowOf } from './rows.js';

/**
 * Turns an EndpointQuery into one counting and one paging statement. Only fixed fragments from
 * this file are concatenated; every user value is a bound parameter ($n), and sort fields come
 * from the whitelist below. PostgreSQL's planner picks between walking a sort index and sorting the
 * matches by itself (the SQLite backend has to decide that in endpoint-query.ts); substring search
 * is `LIKE '%needle%'` over pg_trgm GIN indexes, which also answer needles under 3 characters
 * (by scanning), so there is no second code path for them.
 */
export interface EndpointQuerySql {
  count: { text: string; values: unknown[] };
  page: { text: string; values: unknown[] };
}

const SORT_COLUMNS: Record<string, { column: string; nullable: boolean }> = {
  endpointId: { column: 'e.endpoint_id', nullable: false },
  createdDate: { column: 'e.created_date', nullable: false },
  metadataUpdatedDate: { column: 'e.metadata_updated_date', nullable: true },
  connected: { column: 'e.connected', nullable: false },
  connectivityTs: { column: 'e.connectivity_ts', nullable: true },
  lastSeen: { column: 'e.last_seen', nullable: true },
};

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export function compileEndpointQuery(query: EndpointQuery, columns: string): EndpointQuerySql {
  const params = new Params();
  const where: string[] = [];
  if (query.applicationName !== undefined) where.push(`e.application_name = ${params.add(query.applicationName)}`);
  if (query.appVersionName !== undefined) where.push(`e.app_version_name = ${params.add(query.appVersionName)}`);
  if (query.endpointIds !== undefined) where.push(`e.endpoint_id = ANY(${params.add(query.endpointIds)}::text[])`);
  if (query.connected !== undefined) where.push(`e.connected = ${params.add(query.connected)}`);
  for (const filter of query.metadataFilters ?? []) where.push(compileFilter(filter, params));
  if (query.search !== undefined && query.search !== '') {
    const pattern = params.add(likePattern(query.search.toLowerCase()));
    if (query.searchKeys === undefined) {
      // The ID or any one value (a match never spans two): both have trigram indexes.
      where.push(`(lower(e.endpoint_id) LIKE ${pattern} OR EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.search_text LIKE ${pattern}))`);
    } else {
      where.push(
        `(lower(e.endpoint_id) LIKE ${pattern} OR EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq` +
          ` AND m.key = ANY(${params.add(query.searchKeys)}::text[]) AND m.search_text LIKE ${pattern}))`,
      );
    }
  }
  const whereSql = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  const countValues = [...params.values];

  const direction = query.sort?.direction === 'desc' ? 'DESC' : 'ASC';
  let from = 'endpoints e';
  let order = `e.seq ${direction}`;
  const field = query.sort?.field;
  if (field !== undefined) {
    if (field.startsWith('metadata.')) {
      const key = params.add(field.slice('metadata.'.length));
      from = `endpoints e LEFT JOIN endpoint_metadata s ON s.endpoint_seq = e.seq AND s.key = ${key}`;
      // Missing (or null) values last in both directions; numbers before text, like SQLite.
      order = `s.sort_kind ${direction} NULLS LAST, s.sort_num ${direction}, s.sort_text ${direction}, e.seq ${direction}`;
    } else {
      const sortColumn = SORT_COLUMNS[field];
      if (sortColumn === undefined) {
        throw errors.validation(`sort field ${JSON.stringify(field)} is unknown; use one of ${Object.keys(SORT_COLUMNS).join(', ')} or metadata.<key>`);
      }
      order = `${sortColumn.column} ${direction}${sortColumn.nullable ? ' NULLS LAST' : ''}, e.seq ${direction}`;
    }
  }
  const limit = params.add(Math.max(0, Math.floor(query.limit)));
  const offset = params.add(Math.max(0, Math.floor(query.offset)));
  return {
    count: { text: `SELECT count(*)::int AS n FROM endpoints e${whereSql}`, values: countValues },
    page: { text: `SELECT ${columns} FROM ${from}${whereSql} ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`, values: params.values },
  };
}

function compileFilter(filter: MetadataFilter, params: Params): string {
  const key = params.add(filter.key);
  switch (filter.op) {
    case 'exists':
      return `EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ${key})`;
    case 'eq':
      return `EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ${key} AND m.canon = ${params.add(pgIndexRowOf(filter.value ?? null).canon)})`;
    case 'contains': {
      const pattern = params.add(likePattern(renderText((filter.value ?? '') as JsonValue).toLowerCase()));
      return `EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ${key} AND m.search_text LIKE ${pattern})`;
    }
  }
}

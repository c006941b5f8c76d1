import type { EndpointQuery, JsonValue, MetadataFilter } from '../../core/types.js';
import { errors } from '../../core/errors.js';
import { indexRowOf, renderText } from '../rows/metadata.js';
import { SEARCH_FROM_SQL, SEARCH_KEY_ID_SQL, SEARCH_MATCH_SQL, SEARCH_SEQ_SQL, searchParams, trigramQuery } from './search-match.js';

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

/** One run of endpoints in page order: rows `SELECT <seq> FROM <from> WHERE <where> ORDER BY <order>`. */
interface SortRun {
  seq: string;
  from: string;
  where: string;
  params: unknown[];
  order: string;
}

/**
 * How to produce a sort order for one application. Missing (or null) values sort last in both
 * directions, so the order is two runs: `valued`, read in index order (an index step per row, and
 * no sort), then `unvalued` by seq; the latter is absent when `valued` already holds every endpoint
 * (non-nullable columns, and descending nullable columns, where SQLite's NULLs-first-ascending puts
 * them last anyway). `ofSet` orders a set `matched(seq)` as a whole: one lookup per member, then a
 * sort; `setCost` is what that lookup costs in index steps of the walk.
 */
interface SortPlan {
  valued: SortRun;
  unvalued?: SortRun;
  /** `unvalued`: the condition that picks the members `unvalued` holds. */
  ofSet: { from: string; params: unknown[]; order: string; unvalued: string };
  setCost: number;
  direction: 'ASC' | 'DESC';
}

/** Index steps of a walk per endpoint-row lookup (measured: ~0.04 µs a step, ~0.4 µs a row). */
const ROW_LOOKUP_COST = 10;
/** A metadata sort value found by (endpoint_seq, key) costs more: wider rows, a second b-tree. */
const METADATA_LOOKUP_COST = 20;
/** How much longer than its average a walk may run: matches need not be spread evenly. */
const WALK_SPREAD = 4;

function sortPlanOf(field: string, direction: 'ASC' | 'DESC', applicationName: string): SortPlan {
  if (field.startsWith('metadata.')) {
    const key = field.slice('metadata.'.length);
    // Walks the (application_name, key, sort_value, endpoint_seq) index; endpoints without a value for
    // the key ("unkeyed") have no entry in that range and follow by seq.
    return {
      valued: {
        seq: 's.endpoint_seq',
        from: 'endpoint_metadata s',
        where: 's.application_name = ? AND s.key = ? AND s.sort_value IS NOT NULL',
        params: [applicationName, key],
        order: `s.sort_value ${direction}, s.endpoint_seq ${direction}`,
      },
      unvalued: {
        seq: 'e.seq',
        from: 'endpoints e',
        where: 'e.application_name = ? AND NOT EXISTS (SELECT 1 FROM endpoint_metadata k WHERE k.endpoint_seq = e.seq AND k.key = ? AND k.sort_value IS NOT NULL)',
        params: [applicationName, key],
        order: `e.seq ${direction}`,
      },
      ofSet: {
        from: 'matched m LEFT JOIN endpoint_metadata s ON s.endpoint_seq = m.seq AND s.key = ?',
        params: [key],
        order: `s.sort_value ${direction} NULLS LAST, m.seq ${direction}`,
        unvalued: 's.sort_value IS NULL',
      },
      setCost: METADATA_LOOKUP_COST,
      direction,
    };
  }
  const { column, nullable } = sortColumnOf(field);
  // Every sortable column has an (application_name, column) index (migrations 1 and 3); its entries
  // end in seq, so "ORDER BY column, seq" reads the index in order.
  const split = nullable && direction === 'ASC';
  const plan: SortPlan = {
    valued: {
      seq: 'e.seq',
      from: 'endpoints e',
      where: split ? `e.application_name = ? AND ${column} IS NOT NULL` : 'e.application_name = ?',
      params: [applicationName],
      order: `${column} ${direction}, e.seq ${direction}`,
    },
    ofSet: {
      // CROSS JOIN keeps `matched` outside: the planner cannot tell how small it is.
      from: 'matched m CROSS JOIN endpoints e ON e.seq = m.seq',
      params: [],
      order: `${column} ${direction}${nullable ? ' NULLS LAST' : ''}, m.seq ${direction}`,
      unvalued: `${column} IS NULL`,
    },
    setCost: ROW_LOOKUP_COST,
    direction,
  };
  if (split) {
    plan.unvalued = { seq: 'e.seq', from: 'endpoints e', where: `e.application_name = ? AND ${column} IS NULL`, params: [applicationName], order: `e.seq ${direction}` };
  }
  return plan;
}

function sortColumnOf(field: string): { column: string; nullable: boolean } {
  const sortColumn = SORT_COLUMNS[field];
  if (sortColumn === undefined) {
    throw errors.validation(`sort field ${JSON.stringify(field)} is unknown; use one of ${Object.keys(SORT_COLUMNS).join(', ')} or metadata.<key>`);
  }
  return sortColumn;
}

/**
 * The size of a match set from which walking the sort index (probing each step for membership) is
 * cheaper than sorting the set: a walk reaching `wanted` matches among `applicationTotal` endpoints
 * takes about `wanted * applicationTotal / size` steps (times WALK_SPREAD, at most all of them),
 * sorting takes `size * setCost`.
 */
function walkThreshold(applicationTotal: number, wanted: number, setCost: number): number {
  return Math.min(applicationTotal / setCost, Math.sqrt((WALK_SPREAD * wanted * applicationTotal) / setCost));
}

/** A condition on a run's seq that keeps only the endpoints the query selects. */
interface Probe {
  sql: (seq: string) => string;
  params: unknown[];
}

/** A run's page: `prefix` defines what the probe refers to (a `WITH` clause or nothing). */
function pageOf(run: SortRun, probe: Probe | undefined, limit: number, offset: number, prefix: { sql: string; params: unknown[] }, exec: RunSql): number[] {
  const condition = probe ? ` AND ${probe.sql(run.seq)}` : '';
  const sql = `${prefix.sql}SELECT ${run.seq} AS seq FROM ${run.from} WHERE ${run.where}${condition} ORDER BY ${run.order} LIMIT ? OFFSET ?`;
  return seqsOf(exec(sql, [...prefix.params, ...run.params, ...(probe?.params ?? []), limit, offset]));
}

function countOf(run: SortRun, probe: Probe | undefined, prefix: { sql: string; params: unknown[] }, exec: RunSql): number {
  const condition = probe ? ` AND ${probe.sql(run.seq)}` : '';
  const rows = exec(`${prefix.sql}SELECT count(*) AS n FROM ${run.from} WHERE ${run.where}${condition}`, [...prefix.params, ...run.params, ...(probe?.params ?? [])]);
  return (rows[0] as { n: number }).n;
}

const seqsOf = (rows: unknown[]) => (rows as Array<{ seq: number }>).map((r) => r.seq);
const NO_PREFIX = { sql: '', params: [] as unknown[] };

/**
 * Appends the `unvalued` run after a short `head` of the `valued` run: only when the page reaches
 * past the valued endpoints do we need to know how many there were, and only when that is not
 * evident from the rows do we count.
 */
function withTail(
  sort: SortPlan,
  head: number[],
  limit: number,
  offset: number,
  probes: { valued?: Probe; unvalued?: Probe },
  prefix: { sql: string; params: unknown[] },
  exec: RunSql,
): number[] {
  if (head.length === limit || sort.unvalued === undefined) return head;
  const valuedTotal = head.length > 0 || offset === 0 ? offset + head.length : countOf(sort.valued, probes.valued, prefix, exec);
  const tail = pageOf(sort.unvalued, probes.unvalued, limit - head.length, Math.max(0, offset + head.length - valuedTotal), prefix, exec);
  return [...head, ...tail];
}

/**
 * Counts the matches and picks the page's `seq`s. Only `seq` goes through the sort (never whole rows
 * with their metadata); the caller then fetches the page's rows by `seq`.
 * Missing (or null) values sort last in both directions: a dashboard sorting by temperature wants
 * the devices that report one first.
 */
export function planEndpointPage(query: EndpointQuery, run: RunSql): EndpointPagePlan {
  const limit = Math.max(0, Math.floor(query.limit));
  const offset = Math.max(0, Math.floor(query.offset));
  const direction = DIRECTIONS[query.sort?.direction ?? 'asc'] ?? 'ASC';
  const field = query.sort?.field;
  if (field !== undefined && !field.startsWith('metadata.')) sortColumnOf(field);
  if (query.applicationName === undefined || field === undefined) return planByScan(query, compileWhere(query), limit, offset, direction, run);

  const sort = sortPlanOf(field, direction, query.applicationName);
  const allCounts = run('SELECT application_name = ? AS mine, connected, n FROM endpoint_counts', [query.applicationName]) as Array<{
    mine: number;
    connected: number;
    n: number;
  }>;
  const counts = allCounts.filter((c) => c.mine === 1);
  const applicationTotal = counts.reduce((sum, c) => sum + c.n, 0);
  const where = compileWhere(query, applicationTotal * 2 >= allCounts.reduce((sum, c) => sum + c.n, 0));
  if (where.narrowed) return planFromMatches(sort, where, applicationTotal, limit, offset, run);

  // Only the application and perhaps the connected state: the count is kept by triggers, and the
  // page is a walk of the sort index.
  if (query.connected === undefined) {
    if (limit === 0 || offset >= applicationTotal) return { totalElements: applicationTotal, seqs: [] };
    const head = pageOf(sort.valued, undefined, limit, offset, NO_PREFIX, run);
    return { totalElements: applicationTotal, seqs: withTail(sort, head, limit, offset, {}, NO_PREFIX, run) };
  }
  const connected = query.connected ? 1 : 0;
  const totalElements = counts.find((c) => c.connected === connected)?.n ?? 0;
  if (limit === 0 || offset >= totalElements) return { totalElements, seqs: [] };
  // Few endpoints in that state: sort them rather than walking past all the others.
  if (totalElements < walkThreshold(applicationTotal, offset + limit, sort.setCost)) {
    return planFromMatches(sort, where, applicationTotal, limit, offset, run);
  }
  // Each step of the walk checks the state: by looking the endpoint up, or, when the walk is long
  // (a deep page), in the set of the smaller side (a disconnected list checks "not connected").
  const steps = Math.min(applicationTotal, Math.ceil(((offset + limit) * applicationTotal) / totalElements));
  const others = applicationTotal - totalElements;
  const probe: Probe =
    steps * ROW_LOOKUP_COST <= Math.min(totalElements, others) * 2 + steps
      ? // "+": the walk must stay on the sort index, not switch to (application_name, connected) and sort.
        { sql: (seq) => (seq === 'e.seq' ? '+e.connected = ?' : `EXISTS (SELECT 1 FROM endpoints c WHERE c.seq = ${seq} AND c.connected = ?)`), params: [connected] }
      : {
          sql: (seq) => `+${seq} ${totalElements <= others ? 'IN' : 'NOT IN'} (SELECT c.seq FROM endpoints c WHERE c.application_name = ? AND c.connected = ?)`,
          params: [query.applicationName, totalElements <= others ? connected : 1 - connected],
        };
  const head = pageOf(sort.valued, probe, limit, offset, NO_PREFIX, run);
  return { totalElements, seqs: withTail(sort, head, limit, offset, { valued: probe, unvalued: probe }, NO_PREFIX, run) };
}

/**
 * Narrowing conditions (search, metadata filters, versions, IDs): ONE statement evaluates them once
 * into `matched`, counts it and picks the page, either by walking the sort index and probing
 * `matched` (large sets: the walk stops after `offset + limit` hits) or by sorting `matched` (small
 * sets). Which branch runs is decided inside the statement from the count; the other does nothing.
 */
function planFromMatches(sort: SortPlan, where: CompiledWhere, applicationTotal: number, limit: number, offset: number, run: RunSql): EndpointPagePlan {
  const matched = matchedSet(where);
  const threshold = walkThreshold(applicationTotal, offset + limit, sort.setCost);
  const { valued, ofSet } = sort;
  // "+" keeps the planner from driving the walk from `matched` instead of the sort index.
  const walkProbe: Probe = { sql: (seq) => `+${seq} IN (SELECT seq FROM matched)`, params: [] };
  const sql =
    `WITH ${matched.sql}, total(n) AS MATERIALIZED (SELECT count(*) FROM matched) ` +
    'SELECT NULL AS seq, n FROM total' +
    ` UNION ALL SELECT seq, NULL FROM (SELECT ${valued.seq} AS seq FROM ${valued.from} WHERE ${valued.where} AND ${walkProbe.sql(valued.seq)}` +
    ` ORDER BY ${valued.order} LIMIT ${onlyIf('(SELECT n FROM total) >= ?', '?')} OFFSET ?)` +
    ` UNION ALL SELECT seq, NULL FROM (SELECT m.seq AS seq FROM ${ofSet.from} ORDER BY ${ofSet.order} LIMIT ${onlyIf('(SELECT n FROM total) < ?', '?')} OFFSET ?)`;
  const rows = run(sql, [...matched.params, ...valued.params, threshold, limit, offset, ...ofSet.params, threshold, limit, offset]) as Array<{
    seq: number | null;
    n: number | null;
  }>;
  // SQLite runs UNION ALL arms in order: the count first, then the page in its order.
  const totalElements = rows[0]!.n!;
  const head = rows.slice(1).map((r) => r.seq!);
  if (totalElements < threshold || offset >= totalElements) return { totalElements, seqs: head };
  // Past the valued endpoints: the rest of `matched`, found from the set rather than by a walk.
  const prefix = { sql: `WITH ${matched.sql} `, params: matched.params };
  const unvalued: SortRun = { seq: 'm.seq', from: ofSet.from, where: ofSet.unvalued, params: ofSet.params, order: `m.seq ${sort.direction}` };
  return { totalElements, seqs: withTail({ ...sort, unvalued: sort.unvalued && unvalued }, head, limit, offset, { valued: walkProbe }, prefix, run) };
}

/**
 * A LIMIT that is `limit` when `condition` holds and 0 otherwise: SQLite checks a zero LIMIT before
 * the first loop, so a branch whose condition fails does no work at all. (A WHERE term holding a
 * subquery is tested per row of the outermost loop, after IN lists are built: a walk or a trigram
 * lookup would still run; a join gate in front would lose the index order.)
 */
const onlyIf = (condition: string, limit: string) => `CASE WHEN ${condition} THEN ${limit} ELSE 0 END`;

/**
 * `matched(seq) AS (...)`, a common table expression: the endpoints the query selects, evaluated once per statement.
 * A search (or trigram "contains") whose other conditions need nothing of the endpoint row but its seq drives from the
 * trigram index alone when the application and connected conditions hold for every endpoint (one
 * application, nobody connected, say: endpoint_counts tells, in the same statement and snapshot);
 * otherwise each match is checked against its endpoint.
 */
function matchedSet(where: CompiledWhere): { sql: string; params: unknown[] } {
  const all = `SELECT e.seq FROM endpoints e${where.whereSql}`;
  const scopes = where.parts.filter((p) => p.kind === 'application' || p.kind === 'connected');
  const driver = where.parts.find((p) => p.kind === 'search')?.source;
  const seqOnly = where.parts.filter((p) => (p.kind === 'seq' || p.kind === 'search') && p.source !== driver);
  if (driver === undefined || scopes.length + seqOnly.length + 1 !== where.parts.length) {
    return { sql: `matched(seq) AS MATERIALIZED (${all})`, params: where.whereParams };
  }
  const outside = scopes.map((p) => (p.kind === 'application' ? 'application_name <> ?' : 'connected <> ?'));
  const outsideParams = scopes.flatMap((p) => p.params);
  const everyEndpointInScope = outside.length === 0 ? '1' : `NOT EXISTS (SELECT 1 FROM endpoint_counts WHERE n > 0 AND (${outside.join(' OR ')}))`;
  const searched = `SELECT DISTINCT ${SEARCH_SEQ_SQL} AS seq ${SEARCH_FROM_SQL}${driver.filter}`;
  const seqWhere = seqOnly.length > 0 ? ` WHERE ${seqOnly.map((p) => p.sql).join(' AND ')}` : '';
  const sql =
    `matched(seq) AS MATERIALIZED (SELECT seq FROM (SELECT e.seq FROM (${searched}) e${seqWhere} LIMIT ${onlyIf(everyEndpointInScope, '-1')})` +
    ` UNION ALL SELECT seq FROM (${all} LIMIT ${onlyIf(`NOT ${everyEndpointInScope}`, '-1')}))`;
  return { sql, params: [...driver.params, ...seqOnly.flatMap((p) => p.params), ...outsideParams, ...where.whereParams, ...outsideParams] };
}

/** Without an application (or without a sort field) there is no per-application index to walk. */
function planByScan(query: EndpointQuery, where: CompiledWhere, limit: number, offset: number, direction: 'ASC' | 'DESC', run: RunSql): EndpointPagePlan {
  const { whereSql, whereParams } = where;
  const totalElements = countMatches(query, whereSql, whereParams, run);
  if (limit === 0 || offset >= totalElements) return { totalElements, seqs: [] };
  const field = query.sort?.field;
  if (field === undefined) {
    const sql = `SELECT e.seq FROM endpoints e${whereSql} ORDER BY e.seq ${direction} LIMIT ? OFFSET ?`;
    return { totalElements, seqs: seqsOf(run(sql, [...whereParams, limit, offset])) };
  }
  if (!field.startsWith('metadata.')) {
    const sortColumn = sortColumnOf(field);
    // seq breaks ties, so pages never overlap or skip rows with equal sort values.
    const nulls = sortColumn.nullable ? ' NULLS LAST' : '';
    const sql = `SELECT e.seq FROM endpoints e${whereSql} ORDER BY ${sortColumn.column} ${direction}${nulls}, e.seq ${direction} LIMIT ? OFFSET ?`;
    return { totalElements, seqs: seqsOf(run(sql, [...whereParams, limit, offset])) };
  }
  const key = field.slice('metadata.'.length);
  const sql =
    `SELECT e.seq FROM endpoints e LEFT JOIN endpoint_metadata s ON s.endpoint_seq = e.seq AND s.key = ?` +
    `${whereSql} ORDER BY s.sort_value ${direction} NULLS LAST, e.seq ${direction} LIMIT ? OFFSET ?`;
  return { totalElements, seqs: seqsOf(run(sql, [key, ...whereParams, limit, offset])) };
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

/**
 * One condition of the WHERE clause over `endpoints e`. `seq` conditions use nothing of the row but
 * `e.seq`; `search` is the trigram lookup, kept apart so a statement can drive from it directly.
 */
interface WherePart {
  kind: 'application' | 'connected' | 'row' | 'seq' | 'search';
  sql: string;
  params: unknown[];
  /** `search` only: `SELECT <seq> FROM endpoint_search WHERE endpoint_search MATCH ?<filter>`. */
  source?: TrigramSource;
}

interface TrigramSource {
  filter: string;
  params: unknown[];
}

/** `e.seq IN (<the trigram lookup>)`. */
function trigramPart(source: TrigramSource): WherePart {
  return { kind: 'search', sql: `e.seq IN (${SEARCH_MATCH_SQL}${source.filter})`, params: source.params, source };
}

interface CompiledWhere {
  whereSql: string;
  whereParams: unknown[];
  parts: WherePart[];
  /** Conditions beyond the application and the connected state. */
  narrowed: boolean;
}

function joinWhere(parts: WherePart[]): { whereSql: string; whereParams: unknown[] } {
  return { whereSql: parts.length > 0 ? ` WHERE ${parts.map((p) => p.sql).join(' AND ')}` : '', whereParams: parts.flatMap((p) => p.params) };
}

/**
 * `mostEndpoints`: the application holds at least half of all endpoints. A condition that must test
 * every endpoint (a needle too short for the trigram index) then reads the table straight through
 * instead of taking each row through an (application_name, ...) index.
 */
function compileWhere(query: EndpointQuery, mostEndpoints = false): CompiledWhere {
  const parts: WherePart[] = [];
  const add = (kind: WherePart['kind'], sql: string, params: unknown[]) => parts.push({ kind, sql, params });

  if (query.applicationName !== undefined) {
    // With an eq filter the matching seqs come from the metadata index; "+" keeps the planner (which
    // may have no statistics yet on a freshly grown file) from scanning the application instead.
    const hasEq = (query.metadataFilters ?? []).some((f) => f.op === 'eq');
    const scans =
      (query.search !== undefined && query.search !== '' && trigramQuery(query.search.toLowerCase()) === undefined) ||
      (query.metadataFilters ?? []).some((f) => f.op === 'contains' && trigramQuery(renderText((f.value ?? '') as JsonValue).toLowerCase()) === undefined);
    add('application', hasEq || (scans && mostEndpoints) ? '+e.application_name = ?' : 'e.application_name = ?', [query.applicationName]);
  }
  if (query.appVersionName !== undefined) add('row', 'e.app_version_name = ?', [query.appVersionName]);
  if (query.endpointIds !== undefined) add('row', 'e.endpoint_id IN (SELECT value FROM json_each(?))', [JSON.stringify(query.endpointIds)]);
  if (query.connected !== undefined) add('connected', 'e.connected = ?', [query.connected ? 1 : 0]);
  for (const filter of query.metadataFilters ?? []) parts.push(compileFilter(filter, query.applicationName));
  if (query.search !== undefined && query.search !== '') {
    const needle = query.search.toLowerCase();
    const match = trigramQuery(needle);
    if (match !== undefined) {
      // The index holds the endpoint ID (key_id 0) and every value: one lookup, no scan.
      parts.push(
        trigramPart(
          query.searchKeys === undefined
            ? { filter: '', params: searchParams(match, needle) }
            : {
                filter: ` AND ${SEARCH_KEY_ID_SQL} IN (SELECT 0 UNION ALL SELECT id FROM metadata_keys WHERE key IN (SELECT value FROM json_each(?)))`,
                params: [...searchParams(match, needle), JSON.stringify(query.searchKeys)],
              },
        ),
      );
    } else if (query.searchKeys === undefined) {
      // Needles under 3 characters (or with NUL) scan: the trigram index cannot answer them.
      add('row', 'instr(e.search_text, ?) > 0', [needle]);
    } else {
      add(
        'row',
        '(instr(lower(e.endpoint_id), ?) > 0 OR EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq' +
          ' AND m.key IN (SELECT value FROM json_each(?)) AND instr(m.search_text, ?) > 0))',
        [needle, JSON.stringify(query.searchKeys), needle],
      );
    }
  }
  const narrowed = parts.some((p) => p.kind !== 'application' && p.kind !== 'connected');
  return { ...joinWhere(parts), parts, narrowed };
}

/** Metadata filters test nothing of the endpoint row but its seq. */
function compileFilter(filter: MetadataFilter, applicationName: string | undefined): WherePart {
  const seqPart = (sql: string, params: unknown[]): WherePart => ({ kind: 'seq', sql, params });
  switch (filter.op) {
    case 'exists':
      return seqPart('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ?)', [filter.key]);
    case 'eq': {
      const { canon, sortValue } = indexRowOf(filter.value ?? null);
      if (applicationName !== undefined) {
        // Walks the (application_name, key, sort_value) index: selective values are found directly.
        return seqPart(
          'e.seq IN (SELECT m.endpoint_seq FROM endpoint_metadata m WHERE m.application_name = ? AND m.key = ? AND m.sort_value IS ? AND m.canon = ?)',
          [applicationName, filter.key, sortValue, canon],
        );
      }
      return seqPart('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ? AND m.canon = ?)', [filter.key, canon]);
    }
    case 'contains': {
      const needle = renderText((filter.value ?? '') as JsonValue).toLowerCase();
      const match = trigramQuery(needle);
      if (match !== undefined) {
        return trigramPart({ filter: ` AND ${SEARCH_KEY_ID_SQL} = (SELECT id FROM metadata_keys WHERE key = ?)`, params: [...searchParams(match, needle), filter.key] });
      }
      // Needles under 3 characters (or with NUL) scan: the trigram index cannot answer them.
      return seqPart('EXISTS (SELECT 1 FROM endpoint_metadata m WHERE m.endpoint_seq = e.seq AND m.key = ? AND instr(m.search_text, ?) > 0)', [filter.key, needle]);
    }
  }
}

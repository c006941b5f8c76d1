/**
 * GET /epr/api/v1/endpoints query parameters -> the structured EndpointQuery storage understands.
 * Nothing here becomes SQL text: fields and keys are checked against fixed lists and patterns,
 * values travel as data.
 */
import { errors } from '../core/errors.js';
import { METADATA_KEY_PATTERN } from '../core/names.js';
import type { EndpointQuery, EndpointSortField, JsonValue, MetadataFilter, SortDirection } from '../core/types.js';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1000;

const SORT_FIELDS = ['endpointId', 'createdDate', 'metadataUpdatedDate', 'connected', 'connectivityTs', 'lastSeen'] as const;

/** What `include=` may add to each endpoint: its metadata, the software version it runs (docs/software.md). */
export const INCLUDES = ['metadata', 'software'] as const;

/** Whether the list query asks for `include=<item>` (repeated or comma-separated). */
export function includes(q: Pick<EndpointListQuery, 'include'>, item: (typeof INCLUDES)[number]): boolean {
  return list(q.include).includes(item);
}

export interface EndpointListQuery {
  applicationName?: string;
  applicationVersionName?: string;
  endpointId?: string[];
  connected?: boolean;
  search?: string;
  searchKeys?: string[];
  filter?: string[];
  sort?: string;
  include?: string[];
  offset?: number;
  limit?: number;
  /** `metadata.<key>=<value>` exact-match filters. */
  [metadataFilter: `metadata.${string}`]: string[] | undefined;
}

/** Repeatable parameters also accept comma lists: `endpointId=a,b&endpointId=c`. */
function list(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

function checkKey(key: string): string {
  if (!METADATA_KEY_PATTERN.test(key)) throw errors.metadataKeyInvalid(key);
  return key;
}

/** A filter value is JSON when it parses as JSON (`3`, `true`, `"3"`), else the literal text. */
function filterValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** `filter=<key>~<text>` contains, `filter=<key>=<value>` equals, `filter=<key>` key exists. */
export function parseFilter(expression: string): MetadataFilter {
  const m = /^([^~=]*)([~=])([\s\S]*)$/.exec(expression);
  if (!m) return { key: checkKey(expression), op: 'exists' };
  const [, key = '', operator, value = ''] = m;
  return operator === '~' ? { key: checkKey(key), op: 'contains', value } : { key: checkKey(key), op: 'eq', value: filterValue(value) };
}

/** `sort=<field>[,asc|desc]`; field is one of SORT_FIELDS or `metadata.<key>`. */
export function parseSort(text: string): { field: EndpointSortField; direction: SortDirection } {
  const [rawField = '', rawDirection = 'asc', ...rest] = text.split(',').map((s) => s.trim());
  const direction = rawDirection.toLowerCase();
  if (rest.length > 0 || (direction !== 'asc' && direction !== 'desc')) {
    throw errors.validation(`query.sort ${JSON.stringify(text)} is malformed; send sort=<field>,asc or sort=<field>,desc`);
  }
  if ((SORT_FIELDS as readonly string[]).includes(rawField)) {
    return { field: rawField as EndpointSortField, direction };
  }
  if (rawField.startsWith('metadata.')) {
    return { field: `metadata.${checkKey(rawField.slice('metadata.'.length))}`, direction };
  }
  throw errors.validation(`query.sort field ${JSON.stringify(rawField)} is unknown; sort by one of ${SORT_FIELDS.join(', ')} or metadata.<key>`);
}

export function toEndpointQuery(q: EndpointListQuery): EndpointQuery {
  const include = list(q.include);
  for (const item of include) {
    if (!(INCLUDES as readonly string[]).includes(item)) throw errors.validation(`query.include ${JSON.stringify(item)} is unknown; send include=metadata, include=software or both`);
  }

  const metadataFilters: MetadataFilter[] = list(q.filter).map(parseFilter);
  for (const [name, values] of Object.entries(q)) {
    if (!name.startsWith('metadata.') || !Array.isArray(values)) continue;
    const key = checkKey(name.slice('metadata.'.length));
    for (const value of values as string[]) metadataFilters.push({ key, op: 'eq', value: filterValue(value) });
  }

  const endpointIds = list(q.endpointId);
  const searchKeys = list(q.searchKeys).map(checkKey);
  const query: EndpointQuery = {
    offset: q.offset ?? 0,
    limit: q.limit ?? DEFAULT_LIMIT,
    includeMetadata: include.includes('metadata'),
  };
  if (q.applicationName !== undefined) query.applicationName = q.applicationName;
  if (q.applicationVersionName !== undefined) query.appVersionName = q.applicationVersionName;
  if (endpointIds.length > 0) query.endpointIds = endpointIds;
  if (q.connected !== undefined) query.connected = q.connected;
  if (metadataFilters.length > 0) query.metadataFilters = metadataFilters;
  if (q.search !== undefined && q.search !== '') query.search = q.search;
  if (searchKeys.length > 0) query.searchKeys = searchKeys;
  // A fixed default order keeps offset/limit paging stable.
  query.sort = q.sort !== undefined && q.sort !== '' ? parseSort(q.sort) : { field: 'createdDate', direction: 'asc' };
  return query;
}

const listParam = (description: string) => ({
  type: 'array',
  items: { type: 'string' },
  description: `${description} Repeat the parameter or separate values with commas.`,
});

export const endpointListQuerySchema = {
  type: 'object',
  properties: {
    applicationName: { type: 'string', description: 'Only endpoints of this application.' },
    applicationVersionName: { type: 'string', description: 'Only endpoints registered under this application version.' },
    endpointId: listParam('Only these endpoint IDs.'),
    connected: { type: 'boolean', description: 'true: only endpoints with a live MQTT session; false: only the others.' },
    search: {
      type: 'string',
      maxLength: 256,
      description: 'Case-insensitive text searched in the endpoint ID and in metadata values (all keys, or those in searchKeys).',
    },
    searchKeys: listParam('Metadata keys that `search` looks in.'),
    filter: listParam(
      'Metadata filters, all of which must hold: `<key>~<text>` value contains text (case-insensitive), `<key>=<value>` value equals (JSON when it parses as JSON, else text), `<key>` key exists. Example: filter=model~A300.',
    ),
    sort: {
      type: 'string',
      description: `Sort order: \`<field>[,asc|desc]\` where field is one of ${SORT_FIELDS.join(', ')}, metadata.<key>, or softwareVersion (the version devices report on cmx_ota; semver order, endpoints without one last; up to 10,000 matching endpoints). Example: sort=metadata.model,desc. Default: createdDate,asc.`,
    },
    include: listParam('`metadata` adds each endpoint\'s metadata to the response; `software` the software version it runs (softwareVersion).'),
    offset: { type: 'integer', minimum: 0, default: 0, description: 'Number of endpoints to skip.' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `Page size (max ${MAX_LIMIT}).` },
  },
  patternProperties: {
    '^metadata\\.': {
      type: 'array',
      items: { type: 'string' },
      description: 'metadata.<key>=<value>: exact match on a metadata value (JSON when it parses as JSON, else text). Example: metadata.model=A300.',
    },
  },
} as const;

/**
 * An Endpoint List search carried in a JSON body (a rollout's target, a targeted software filter):
 * the query parameters of GET /epr/api/v1/endpoints as an object, read by toEndpointQuery.
 */
export const endpointSearchBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    applicationVersionName: { type: 'string' },
    endpointId: { type: 'array', items: { type: 'string' } },
    connected: { type: 'boolean' },
    search: { type: 'string', maxLength: 256 },
    searchKeys: { type: 'array', items: { type: 'string' } },
    filter: { type: 'array', items: { type: 'string' } },
  },
  patternProperties: { '^metadata\\.': { type: 'array', items: { type: 'string' } } },
} as const;

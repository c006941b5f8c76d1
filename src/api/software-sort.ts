/**
 * `sort=softwareVersion[,asc|desc]` on the Endpoint List. The versions live beside the register
 * (software.db), so the register cannot order by them: the matching endpoints' IDs are read (at
 * most MAX_SOFTWARE_SORT), their versions fetched in one read, ordered here, and only the page
 * asked for is read in full. Bounded work per page, refused beyond the bound with what to do.
 */
import { errors } from '../core/errors.js';
import type { Services } from '../core/services.js';
import type { EndpointQuery, EndpointRecord, Page } from '../core/types.js';
import { compareReported } from '../software/versions.js';
import type { SoftwareVersions } from './present.js';

export const SOFTWARE_SORT_FIELD = 'softwareVersion';
export const MAX_SOFTWARE_SORT = 10_000;

/** The direction when `sort` asks for the software version, else undefined. */
export function softwareSortOf(sort: string | undefined): 'asc' | 'desc' | undefined {
  if (sort === undefined) return undefined;
  const [field = '', direction = 'asc', ...rest] = sort.split(',').map((s) => s.trim());
  if (field !== SOFTWARE_SORT_FIELD) return undefined;
  const d = direction.toLowerCase();
  if (rest.length > 0 || (d !== 'asc' && d !== 'desc')) throw errors.validation(`query.sort ${JSON.stringify(sort)} is malformed; send sort=softwareVersion,asc or sort=softwareVersion,desc`);
  return d;
}

/** A page of endpoints in software version order (endpoint ID within the same version). */
export async function listBySoftwareVersion(
  services: Services,
  software: SoftwareVersions,
  query: EndpointQuery,
  direction: 'asc' | 'desc',
): Promise<{ page: Page<EndpointRecord>; versions: Map<string, string | null> }> {
  const all = await services.registry.listEndpoints({ ...query, sort: { field: 'endpointId', direction: 'asc' }, offset: 0, limit: MAX_SOFTWARE_SORT + 1, includeMetadata: false });
  if (all.content.length > MAX_SOFTWARE_SORT) {
    throw errors.validation(`sort=softwareVersion orders at most ${MAX_SOFTWARE_SORT.toLocaleString('en')} endpoints and ${all.totalElements.toLocaleString('en')} match; narrow the list (applicationVersionName, filter, search) or sort by another field`);
  }
  const ids = all.content.map((e) => e.endpointId);
  const versions = await software.currentVersions(ids);
  ids.sort((a, b) => compareReported(versions.get(a) ?? null, versions.get(b) ?? null, direction) || (a < b ? -1 : a > b ? 1 : 0));
  const pageIds = ids.slice(query.offset, query.offset + query.limit);
  if (pageIds.length === 0) return { page: { totalElements: all.totalElements, content: [] }, versions };
  const rows = await services.registry.listEndpoints({ ...query, endpointIds: pageIds, offset: 0, limit: pageIds.length });
  const byId = new Map(rows.content.map((e) => [e.endpointId, e]));
  return { page: { totalElements: all.totalElements, content: pageIds.flatMap((id) => byId.get(id) ?? []) }, versions };
}

import type { Registry } from '../core/services.js';
import type { EndpointQuery } from '../core/types.js';

/** The registry answers at most this many endpoints a page (src/registry/index.ts). */
const PAGE = 1000;

/**
 * Every endpoint ID a query matches, oldest first, read a page at a time: a batch addressed "to
 * every match" must not stop at the first page. Past `limit` matches nothing is read beyond the
 * first page: the caller refuses the batch on `total` alone.
 */
export async function allMatchingEndpointIds(registry: Pick<Registry, 'listEndpoints'>, query: Omit<EndpointQuery, 'offset' | 'limit'>, limit: number): Promise<{ total: number; endpointIds: string[] }> {
  const base = { ...query, includeMetadata: false, sort: { field: 'createdDate' as const, direction: 'asc' as const } };
  const ids: string[] = [];
  let total = 0;
  for (let offset = 0; ids.length < limit; offset += PAGE) {
    const page = await registry.listEndpoints({ ...base, offset, limit: PAGE });
    total = page.totalElements;
    if (total > limit) return { total, endpointIds: [] };
    for (const endpoint of page.content) ids.push(endpoint.endpointId);
    if (page.content.length < PAGE || offset + PAGE >= total) break;
  }
  return { total, endpointIds: ids.slice(0, limit) };
}

import { MAX_LIMIT, toEndpointQuery } from '../api/endpoint-query.js';
import type { EventBus } from '../bus/bus.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import { type EndpointSearch, RolloutService } from '../rollouts/service.js';
import type { RolloutSoftware } from '../rollouts/software.js';
import type { RolloutStorage } from '../storage/rollouts.js';

/** Rollouts over their store and the software service; driving starts with `start()` once devices can be reached. */
export function createRollouts(deps: { store: RolloutStorage; software: RolloutSoftware; bus: EventBus; services: Services; logger: Logger; nodeId: string }): RolloutService {
  return new RolloutService({
    store: deps.store,
    software: deps.software,
    bus: deps.bus,
    applications: deps.services.applications,
    endpoints: endpointSearch(deps.services),
    nodeId: deps.nodeId,
    logger: deps.logger,
  });
}

/**
 * A rollout's `query` target is an Endpoint List search: parsed as GET /epr/api/v1/endpoints parses it, run by the
 * registry, page by page (the registry answers at most 1,000 a page).
 */
function endpointSearch(services: Services): EndpointSearch {
  return {
    check(query) {
      toEndpointQuery(query);
    },
    async find(applicationName, query, limit) {
      const parsed = toEndpointQuery(query);
      const base = { ...parsed, applicationName, includeMetadata: false, sort: { field: 'createdDate' as const, direction: 'asc' as const } };
      const ids: string[] = [];
      const only = Object.keys(query).every((k) => k === 'endpointId');
      if (only && parsed.endpointIds) {
        // A list of IDs: asked a page's worth at a time, so no statement carries 100,000 of them.
        for (let i = 0; i < parsed.endpointIds.length && ids.length < limit; i += MAX_LIMIT) {
          const chunk = parsed.endpointIds.slice(i, i + MAX_LIMIT);
          const page = await services.registry.listEndpoints({ ...base, endpointIds: chunk, offset: 0, limit: MAX_LIMIT });
          ids.push(...page.content.map((e) => e.endpointId));
        }
        return { total: ids.length, endpointIds: ids.slice(0, limit) };
      }
      // Every match, oldest first (the Endpoint List's default order), a page at a time.
      let total = 0;
      for (let offset = 0; ids.length < limit; offset += MAX_LIMIT) {
        const page = await services.registry.listEndpoints({ ...base, offset, limit: MAX_LIMIT });
        total = page.totalElements;
        // More than the caller takes: it refuses the target on `total` alone.
        if (total > limit) return { total, endpointIds: [] };
        ids.push(...page.content.map((e) => e.endpointId));
        if (page.content.length < MAX_LIMIT || offset + MAX_LIMIT >= total) break;
      }
      return { total, endpointIds: ids.slice(0, limit) };
    },
  };
}

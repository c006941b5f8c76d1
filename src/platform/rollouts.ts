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

/** A rollout's `query` target is an Endpoint List search: parsed as GET /epr/api/v1/endpoints parses it, run by the registry. */
function endpointSearch(services: Services): EndpointSearch {
  return {
    check(query) {
      toEndpointQuery(query);
    },
    async find(applicationName, query, limit) {
      const parsed = toEndpointQuery(query);
      // Every match, not a page: the oldest first, as the Endpoint List orders by default.
      const page = await services.registry.listEndpoints({ ...parsed, applicationName, offset: 0, limit: Math.max(limit, MAX_LIMIT), includeMetadata: false, sort: { field: 'createdDate', direction: 'asc' } });
      return { total: page.totalElements, endpointIds: page.content.slice(0, limit).map((e) => e.endpointId) };
    },
  };
}

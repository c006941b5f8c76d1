import { toEndpointQuery } from '../api/endpoint-query.js';
import type { EventBus } from '../bus/bus.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { EndpointFilterQuery } from '../core/software.js';
import { cmxOtaSource } from '../software/cmx-ota.js';
import { type EndpointFilters, type PackageSource, SoftwareService } from '../software/service.js';
import type { SoftwareStorage } from '../storage/software.js';

/** Software versions (Kaa OTAO) over their store, and the source the cmx_ota extension reads. */
export interface Software {
  store: SoftwareStorage;
  service: SoftwareService;
  cmxOta: ReturnType<typeof cmxOtaSource>;
  close(): Promise<void>;
}

export function createSoftware(deps: { store: SoftwareStorage; bus: EventBus; services: Services; logger: Logger; baseUrl: (localAddress?: string) => string; packages?: PackageSource }): Software {
  const service = new SoftwareService({
    store: deps.store,
    bus: deps.bus,
    applications: deps.services.applications,
    filters: endpointFilters(deps.services),
    baseUrl: deps.baseUrl,
    logger: deps.logger.child({ part: 'software' }),
    ...(deps.packages && { packages: deps.packages }),
  });
  return {
    store: deps.store,
    service,
    cmxOta: cmxOtaSource(service, deps.services.applications),
    async close() {
      service.close();
    },
  };
}

/** Targeted filters are Endpoint List searches: parsed as GET /epr/api/v1/endpoints parses them, run by the registry. */
function endpointFilters(services: Services): EndpointFilters {
  return {
    check(query: EndpointFilterQuery) {
      toEndpointQuery(query);
    },
    async matching(applicationName, query, endpointIds) {
      const asked = new Set(endpointIds);
      const parsed = toEndpointQuery(query);
      const ids = parsed.endpointIds ? parsed.endpointIds.filter((id) => asked.has(id)) : [...asked];
      if (ids.length === 0) return new Set();
      const page = await services.registry.listEndpoints({ ...parsed, applicationName, endpointIds: ids, offset: 0, limit: ids.length, includeMetadata: false });
      return new Set(page.content.map((e) => e.endpointId));
    },
  };
}

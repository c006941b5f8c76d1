import { createApplications } from '../applications/index.js';
import type { EventBus } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Limits } from '../core/limits.js';
import type { Services } from '../core/services.js';
import { type ConnectivityService, createConnectivity } from '../connectivity/index.js';
import { createCredentials } from '../credentials/index.js';
import { createRegistry } from '../registry/index.js';
import type { Storage } from '../storage/storage.js';

export interface ServicesDeps {
  storage: Storage;
  bus: EventBus;
  clock?: Clock;
  logger?: Logger;
  /** Metadata limits for the registry (the rest of Limits is read by the transports and API). */
  limits?: Partial<Limits>;
  /** Several nodes on one database: this node's ID (connectivity records which node holds a session). */
  nodeId?: string;
}

/**
 * Wires applications, credentials, registry and connectivity over one storage and one bus.
 * The storage must be initialised; storage and bus stay owned (and closed) by the caller.
 */
export async function createServices(
  deps: ServicesDeps,
): Promise<Services & { connectivity: ConnectivityService; close(): Promise<void>; sweepIdleCaches(): { tokens: number; endpoints: number } }> {
  const { storage, bus } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const base = { storage, bus, clock, logger };

  const applications = await createApplications(base);
  const credentials = createCredentials(base);
  const registry = createRegistry({ ...base, applications, credentials, ...(deps.limits && { limits: deps.limits }) });
  const connectivity = createConnectivity({ ...base, ...(deps.nodeId !== undefined && { nodeId: deps.nodeId }) });
  await connectivity.ready;

  return {
    applications,
    credentials,
    registry,
    connectivity,
    /** Drops per-device cache entries idle for DEVICE_CACHE_IDLE_MS now (a timer does it every minute too). */
    sweepIdleCaches: () => ({ tokens: credentials.sweepIdle(), endpoints: registry.sweepIdle() }),
    async close() {
      await connectivity.close();
      registry.close();
      await credentials.close();
    },
  };
}

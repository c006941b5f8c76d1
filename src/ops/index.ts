import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../bus/bus.js';
import type { TetherMetrics } from '../metrics/index.js';
import type { Storage } from '../storage/storage.js';

/**
 * Operations endpoints, unauthenticated like Kubernetes and load balancers expect them (restrict
 * /metrics at the proxy if node-level counts are sensitive):
 * - `GET /healthz`: the process is up and serving HTTP (liveness); it also names the node's MQTT
 *   port, which is no secret, so a client pointed at this port by mistake can name the right one;
 * - `GET /readyz`: storage and bus answer; 503 otherwise, so a load balancer stops sending devices
 *   and operators to a node that could not commit their writes (readiness);
 * - `GET /metrics`: Prometheus text (src/metrics/).
 */
export interface OpsDeps {
  nodeId: string;
  storage: Storage;
  bus: EventBus;
  metrics: TetherMetrics;
  /** The port MQTT (1/KP) listens on, once known. */
  mqttPort?: () => number;
  /** Per check; a check slower than this counts as failed. Default 2 s. */
  checkTimeoutMs?: number;
}

type Check = () => Promise<boolean>;

export function opsPlugin(deps: OpsDeps): (app: FastifyInstance) => Promise<void> {
  const timeoutMs = deps.checkTimeoutMs ?? 2000;
  const checks: Record<string, Check> = {
    storage: storageCheck(deps.storage),
    bus: busCheck(deps.bus),
  };
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', node: deps.nodeId, ...(deps.mqttPort && { mqttPort: deps.mqttPort() }) }));

    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check, timeoutMs)] as const));
      const ready = results.every(([, ok]) => ok);
      reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
      return { status: ready ? 'ready' : 'unavailable', node: deps.nodeId, checks: Object.fromEntries(results.map(([name, ok]) => [name, ok ? 'ok' : 'unreachable'])) };
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await deps.metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}

function storageCheck(storage: Storage): Check {
  const ping = (storage as { ping?: () => Promise<boolean> }).ping;
  if (typeof ping === 'function') return () => ping.call(storage);
  // Embedded SQLite: a read answers unless the storage was closed.
  return async () => {
    await storage.getSetting('readyz');
    return true;
  };
}

function busCheck(bus: EventBus): Check {
  const connected = (bus as { connected?: () => boolean }).connected;
  return async () => (typeof connected === 'function' ? connected.call(bus) : true);
}

async function withTimeout(check: Check, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([check().catch(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

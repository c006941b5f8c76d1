import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../bus/bus.js';
import type { StorageFull } from '../core/storage-full.js';
import type { TetherMetrics } from '../metrics/index.js';
import type { Storage } from '../storage/storage.js';

/**
 * Operations endpoints, unauthenticated like Kubernetes and load balancers expect them (restrict
 * /metrics at the proxy if node-level counts are sensitive):
 * - `GET /healthz`: the process is up and serving HTTP (liveness);
 * - `GET /readyz`: storage and bus answer and storage has room; 503 otherwise (with `reason`, e.g.
 *   "storage full"), so a load balancer stops sending devices and operators to a node that could
 *   not commit their writes (readiness);
 * - `GET /metrics`: Prometheus text (src/metrics/).
 */
export interface OpsDeps {
  nodeId: string;
  storage: Storage;
  bus: EventBus;
  metrics: TetherMetrics;
  /** Set while writes fail for a full disk: `/readyz` answers 503 with `storage: "full"`. */
  storageFull?: Pick<StorageFull, 'full'>;
  /** Per check; a check slower than this counts as failed. Default 2 s. */
  checkTimeoutMs?: number;
}

/** True when ready; a string says why not (a check that throws or times out is "unreachable"). */
type Check = () => Promise<boolean | string>;

export function opsPlugin(deps: OpsDeps): (app: FastifyInstance) => Promise<void> {
  const timeoutMs = deps.checkTimeoutMs ?? 2000;
  const checks: Record<string, Check> = {
    storage: storageCheck(deps.storage, deps.storageFull),
    bus: busCheck(deps.bus),
  };
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', node: deps.nodeId }));

    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check, timeoutMs)] as const));
      const ready = results.every(([, ok]) => ok === true);
      reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
      const state = (ok: boolean | string) => (ok === true ? 'ok' : ok === false ? 'unreachable' : ok);
      const why = results.filter(([, ok]) => typeof ok === 'string').map(([name, ok]) => `${name} ${String(ok)}`);
      return {
        status: ready ? 'ready' : 'unavailable',
        node: deps.nodeId,
        checks: Object.fromEntries(results.map(([name, ok]) => [name, state(ok)])),
        ...(why.length > 0 && { reason: why.join('; ') }),
      };
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await deps.metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}

function storageCheck(storage: Storage, storageFull: Pick<StorageFull, 'full'> | undefined): Check {
  const ping = (storage as { ping?: () => Promise<boolean> }).ping;
  // Reads still answer on a full disk, but a node that cannot store writes is not ready for devices.
  const full = () => storageFull?.full === true;
  if (typeof ping === 'function') return async () => (full() ? 'full' : ping.call(storage));
  // Embedded SQLite: a read answers unless the storage was closed.
  return async () => {
    await storage.getSetting('readyz');
    return full() ? 'full' : true;
  };
}

function busCheck(bus: EventBus): Check {
  const connected = (bus as { connected?: () => boolean }).connected;
  return async () => (typeof connected === 'function' ? connected.call(bus) : true);
}

async function withTimeout(check: Check, ms: number): Promise<boolean | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([check().catch(() => false), new Promise<boolean | string>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

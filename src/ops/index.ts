import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../bus/bus.js';
import type { TetherMetrics } from '../metrics/index.js';
import type { Storage } from '../storage/storage.js';

/**
 * Operations endpoints, unauthenticated like Kubernetes and load balancers expect them (restrict
 * /metrics at the proxy if node-level counts are sensitive):
 * - `GET /healthz`: the process is up and serving HTTP (liveness);
 * - `GET /readyz`: storage and bus answer; 503 otherwise, so a load balancer stops sending devices
 *   and operators to a node that could not commit their writes (readiness);
 * - `GET /metrics`: Prometheus text (src/metrics/).
 */
export interface OpsDeps {
  nodeId: string;
  storage: Storage;
  bus: EventBus;
  metrics: TetherMetrics;
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
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', node: deps.nodeId }));

    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(name, check, timeoutMs)] as const));
      const ready = results.every(([, problem]) => problem === undefined);
      reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
      const reasons = Object.fromEntries(results.filter(([, problem]) => problem !== undefined));
      return {
        status: ready ? 'ready' : 'unavailable',
        node: deps.nodeId,
        checks: Object.fromEntries(results.map(([name, problem]) => [name, problem === undefined ? 'ok' : 'unreachable'])),
        // Why, in the dependency's own words (never a password: URLs are not part of these messages).
        ...(!ready && { reasons }),
      };
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await deps.metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}

function storageCheck(storage: Storage): Check {
  const reason = (storage as { unreadyReason?: () => Promise<string | undefined> }).unreadyReason;
  if (typeof reason === 'function')
    return async () => {
      const problem = await reason.call(storage);
      if (problem !== undefined) throw new Error(problem);
      return true;
    };
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
  return async () => {
    if (typeof connected === 'function' && !connected.call(bus)) throw new Error('NATS connection lost; reconnecting with backoff');
    return true;
  };
}

/** Undefined when the check passed; otherwise what went wrong. */
async function withTimeout(name: string, check: Check, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      check().then(
        (ok) => (ok ? undefined : `${name} check failed`),
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`${name} did not answer within ${ms} ms`), ms))),
    ]);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

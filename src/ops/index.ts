import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../bus/bus.js';
import type { StorageFull } from '../core/storage-full.js';
import type { TetherMetrics } from '../metrics/index.js';
import type { Storage } from '../storage/storage.js';

/**
 * Operations endpoints, unauthenticated like Kubernetes and load balancers expect them (restrict
 * /metrics at the proxy if node-level counts are sensitive):
 * - `GET /healthz`: the process is up and serving HTTP (liveness); it also names the node's MQTT
 *   port, which is no secret, so a client pointed at this port by mistake can name the right one;
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
  /** The port MQTT (1/KP) listens on, once known. */
  mqttPort?: () => number;
  /** Set while writes fail for a full disk: `/readyz` answers 503 with `storage: "full"`. */
  storageFull?: Pick<StorageFull, 'full'>;
  /** Per check; a check slower than this counts as failed. Default 2 s. */
  checkTimeoutMs?: number;
}

/**
 * A check resolves `true` when ready, or a short state that is not (`"full"`); it throws with what
 * went wrong when its dependency does not answer ("unreachable", with the dependency's own words).
 */
type Check = () => Promise<true | string>;

interface Outcome {
  /** `ok`, `unreachable`, or the check's own state (`full`). */
  state: string;
  /** Why not ready, in the dependency's own words (never a password: URLs are not part of these messages). */
  problem?: string;
}

export function opsPlugin(deps: OpsDeps): (app: FastifyInstance) => Promise<void> {
  const timeoutMs = deps.checkTimeoutMs ?? 2000;
  const checks: Record<string, Check> = {
    storage: storageCheck(deps.storage, deps.storageFull),
    bus: busCheck(deps.bus),
  };
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', node: deps.nodeId, ...(deps.mqttPort && { mqttPort: deps.mqttPort() }) }));

    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(name, check, timeoutMs)] as const));
      const ready = results.every(([, outcome]) => outcome.state === 'ok');
      reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
      const failing = results.filter(([, outcome]) => outcome.state !== 'ok');
      return {
        status: ready ? 'ready' : 'unavailable',
        node: deps.nodeId,
        checks: Object.fromEntries(results.map(([name, outcome]) => [name, outcome.state])),
        ...(!ready && {
          reason: failing.map(([name, outcome]) => `${name} ${outcome.state}`).join('; '),
          reasons: Object.fromEntries(failing.map(([name, outcome]) => [name, outcome.problem ?? `${name} ${outcome.state}`])),
        }),
      };
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await deps.metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}

function storageCheck(storage: Storage, storageFull: Pick<StorageFull, 'full'> | undefined): Check {
  // Reads still answer on a full disk, but a node that cannot store writes is not ready for devices.
  const full = () => storageFull?.full === true;
  const reason = (storage as { unreadyReason?: () => Promise<string | undefined> }).unreadyReason;
  if (typeof reason === 'function')
    return async () => {
      const problem = await reason.call(storage);
      if (problem !== undefined) throw new Error(problem);
      return full() ? 'full' : true;
    };
  const ping = (storage as { ping?: () => Promise<boolean> }).ping;
  if (typeof ping === 'function')
    return async () => {
      if (!(await ping.call(storage))) throw new Error('storage check failed');
      return full() ? 'full' : true;
    };
  // Embedded SQLite: a read answers unless the storage was closed.
  return async () => {
    await storage.getSetting('readyz');
    return full() ? 'full' : true;
  };
}

function busCheck(bus: EventBus): Check {
  const connected = (bus as { connected?: () => boolean }).connected;
  return async () => {
    if (typeof connected === 'function' && !connected.call(bus)) throw new Error('NATS connection lost; reconnecting with backoff');
    return true;
  };
}

async function withTimeout(name: string, check: Check, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check().then(
        (ok): Outcome => (ok === true ? { state: 'ok' } : { state: ok }),
        (err: unknown): Outcome => ({ state: 'unreachable', problem: err instanceof Error ? err.message : String(err) }),
      ),
      new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ state: 'unreachable', problem: `${name} did not answer within ${ms} ms` }), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

import type { EventBus } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { NodeLeases, Storage } from '../storage/storage.js';

export interface MembershipOptions {
  nodeId: string;
  leases: NodeLeases;
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** How often the lease is renewed and dead nodes are looked for (default 3 s). */
  intervalMs?: number;
  /** A lease not renewed for this long is dead (default 12 s): with the interval, a SIGKILLed node's endpoints are disconnected within ~15 s. */
  leaseMs?: number;
}

export interface Membership {
  /** Stops renewing and gives the lease up (a graceful stop has already disconnected its sessions). */
  close(): Promise<void>;
}

/**
 * Node liveness for a cluster. Each node renews a lease; each looks for nodes whose lease ran out,
 * and the one that claims a dead node marks the endpoints whose sessions it held disconnected and
 * announces it (`connectivity.changed`), so every dashboard sees the devices go offline. The devices
 * reconnect (through the load balancer) to a survivor, which records them connected again.
 */
export async function startMembership(options: MembershipOptions): Promise<Membership> {
  const { nodeId, leases, storage, bus, clock } = options;
  const logger = options.logger.child({ part: 'membership' });
  const intervalMs = options.intervalMs ?? 3000;
  const leaseMs = options.leaseMs ?? 12_000;
  // Before any session: a node without a lease would look dead to the others' orphan sweep.
  await leases.renew(nodeId);
  let closed = false;
  let running: Promise<void> | undefined;
  let failing = false;

  async function tick(): Promise<void> {
    try {
      const { created } = await leases.renew(nodeId);
      if (created) logger.warn({ nodeId }, 'this node was taken for dead (no lease renewal for too long); its sessions were marked disconnected elsewhere');
      for (const dead of await leases.claimDead(nodeId, leaseMs)) await release(dead);
      if (failing) logger.info({}, 'node lease renewed again');
      failing = false;
    } catch (err) {
      // Logged once per outage, not per tick.
      if (!failing) logger.error({ err }, 'cannot renew the node lease or look for dead nodes; retrying');
      failing = true;
    }
  }

  async function release(dead: string): Promise<void> {
    const at = clock.iso();
    const endpoints = await storage.disconnectNode(dead, at);
    logger.warn({ node: dead, endpoints: endpoints.length }, 'node stopped renewing its lease: its endpoints are marked disconnected');
    for (const { endpointId, applicationName } of endpoints) {
      await bus
        .publish({ type: 'connectivity.changed', endpointId, applicationName, connected: false, at })
        .catch((err: unknown) => logger.warn({ err, endpointId }, 'failed to publish connectivity.changed'));
    }
  }

  const timer = setInterval(() => {
    if (closed || running) return;
    running = tick().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();

  return {
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await running;
      await leases.leave(nodeId).catch((err: unknown) => logger.warn({ err }, 'failed to give up the node lease'));
    },
  };
}

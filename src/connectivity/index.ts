import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import { isStorageFull } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { KeyedSerial } from '../core/serial.js';
import type { Connectivity } from '../core/services.js';
import type { Storage } from '../storage/storage.js';
import { SessionTable } from './sessions.js';

export interface ConnectivityDeps {
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Least time between two `lastSeen` writes for one endpoint. */
  seenIntervalMs?: number;
  /**
   * Several nodes on one database: this node's ID. Edges are recorded under it, and a start resets
   * only the endpoints this node held (the others' sessions live on). Absent: one node, and a start
   * resets every endpoint.
   */
  nodeId?: string;
}

export type ConnectivityService = Connectivity & {
  /** Endpoints with a session on this node (metrics). */
  localConnectedCount(): number;
  /** Settles once the connectivity left over from the previous run has been reset. */
  readonly ready: Promise<void>;
  /** Records the endpoints still connected as disconnected and stops listening to the bus. */
  close(): Promise<void>;
};

const SEEN_TRACKED_MAX = 100_000;

/**
 * 9/ELCE endpoint connectivity: an endpoint is connected while at least one session speaks for it.
 * Only the 0 -> 1 and 1 -> 0 transitions are written and announced (`connectivity.changed`).
 */
export function createConnectivity(deps: ConnectivityDeps): ConnectivityService {
  const { storage, bus, clock } = deps;
  const logger = deps.logger.child({ part: 'connectivity' });
  const seenIntervalMs = deps.seenIntervalMs ?? 1000;
  const table = new SessionTable();
  const lastSeenWrite = new Map<string, number>();
  // Connect/disconnect writes of one endpoint reach storage and the bus in the order they happened.
  const perEndpoint = new KeyedSerial();
  const pendingSeen = new Set<Promise<void>>();
  let closed = false;

  // 9/ELCE: no session survives a restart, so whatever was connected before is not any more.
  const ready = (deps.nodeId === undefined ? storage.resetConnectivity(clock.iso()) : resetOwnSessions(deps.nodeId)).then(
    (count) => {
      if (count > 0) logger.info({ endpoints: count }, 'endpoints left connected by the previous run marked disconnected');
    },
    (err: unknown) => logger.error({ err }, 'failed to reset connectivity'),
  );

  /** Other nodes' endpoints stay as they are; the ones this node held are announced disconnected. */
  async function resetOwnSessions(nodeId: string): Promise<number> {
    const at = clock.iso();
    const released = await storage.disconnectNode(nodeId, at);
    for (const { endpointId, applicationName } of released) {
      await bus
        .publish({ type: 'connectivity.changed', endpointId, applicationName, connected: false, at })
        .catch((err: unknown) => logger.error({ err, endpointId }, 'failed to publish connectivity.changed'));
    }
    return released.length;
  }

  const unsubscribe = bus.subscribe((event: TetherEvent) => {
    if (event.type !== 'endpoint.deleted') return;
    table.forgetEndpoint(event.endpointId);
    lastSeenWrite.delete(event.endpointId);
  });

  function record(endpointId: string, applicationName: string, connected: boolean): Promise<void> {
    return perEndpoint.run(endpointId, async () => {
      await ready;
      const at = clock.iso();
      await storage.recordConnectivity(endpointId, connected, at, deps.nodeId);
      await bus
        .publish({ type: 'connectivity.changed', endpointId, applicationName, connected, at })
        .catch((err: unknown) => logger.error({ err, endpointId }, 'failed to publish connectivity.changed'));
    });
  }

  return {
    ready,

    async attach(sessionId, endpointId, applicationName) {
      if (closed) return;
      if (table.attach(sessionId, endpointId, applicationName)) {
        await record(endpointId, applicationName, true);
      }
    },

    async detachSession(sessionId) {
      if (closed) return;
      const disconnected = table.detachSession(sessionId);
      await Promise.all(
        disconnected.map(({ endpointId, applicationName }) => {
          lastSeenWrite.delete(endpointId);
          return record(endpointId, applicationName, false);
        }),
      );
    },

    seen(endpointId) {
      if (closed) return;
      const now = clock.now();
      const last = lastSeenWrite.get(endpointId);
      // Every device message lands here: write at most once per interval per endpoint.
      if (last !== undefined && now - last < seenIntervalMs) return;
      lastSeenWrite.delete(endpointId);
      lastSeenWrite.set(endpointId, now);
      if (lastSeenWrite.size > SEEN_TRACKED_MAX) {
        const oldest = lastSeenWrite.keys().next().value;
        if (oldest !== undefined) lastSeenWrite.delete(oldest);
      }
      const write = storage
        .recordSeen(endpointId, clock.iso())
        .catch((err: unknown) => {
          // A full disk is logged once per interval by the request path, not once per endpoint here.
          if (!isStorageFull(err)) logger.warn({ err, endpointId }, 'failed to record lastSeen');
        })
        .finally(() => pendingSeen.delete(write));
      pendingSeen.add(write);
    },

    sessionsOf: (endpointId) => table.sessionsOf(endpointId),

    localConnectedCount: () => table.connectedEndpoints().length,

    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      const stillConnected = table.connectedEndpoints();
      table.clear();
      await Promise.all(
        stillConnected.map(({ endpointId, applicationName }) =>
          record(endpointId, applicationName, false).catch((err: unknown) =>
            logger.warn({ err, endpointId }, 'failed to record disconnect at shutdown'),
          ),
        ),
      );
      await Promise.all([...pendingSeen]);
      await perEndpoint.drain();
    },
  };
}

import type { EventBus } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';

/**
 * MQTT session takeover across nodes (MQTT 3.1.1 §3.1.4: a second CONNECT with a client ID ends the
 * session that ID already has). Within one node the MQTT server does it; across nodes this module
 * does, over the bus.
 *
 * The contract with the MQTT front door (src/transport/), which is all the transport has to offer:
 * - it calls `onLocalSessionStarted(clientId)` once a CONNECT is accepted (after authentication);
 * - it implements `LocalSessions.endLocalSessionByClientId(clientId, reason)`: ends the session with
 *   that client ID on this node, if any, as a local takeover would (no will message, the endpoints
 *   detached so 9/ELCE records the disconnect), and returns whether there was one.
 */
export interface LocalSessions {
  endLocalSessionByClientId(clientId: string, reason: string): boolean;
}

export interface SessionTakeover {
  onLocalSessionStarted(clientId: string): void;
  close(): void;
}

export function createSessionTakeover(options: { nodeId: string; bus: EventBus; clock: Clock; logger: Logger; sessions: LocalSessions }): SessionTakeover {
  const { nodeId, bus, clock, sessions } = options;
  const logger = options.logger.child({ part: 'takeover' });
  const unsubscribe = bus.subscribe((event) => {
    if (event.type !== 'session.started' || event.nodeId === nodeId) return;
    if (sessions.endLocalSessionByClientId(event.clientId, `session taken over on node ${event.nodeId}`)) {
      logger.info({ clientId: event.clientId, node: event.nodeId }, 'session taken over by another node');
    }
  });
  return {
    onLocalSessionStarted(clientId) {
      bus
        .publish({ type: 'session.started', clientId, nodeId, at: clock.iso() })
        .catch((err: unknown) => logger.warn({ err, clientId }, 'failed to publish session.started'));
    },
    close: unsubscribe,
  };
}

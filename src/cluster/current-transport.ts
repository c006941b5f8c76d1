import type { EventBus, EventHandler, TetherEvent } from '../bus/bus.js';
import type { MqttClientAuth } from '../client-auth/mqtt.js';
import type { LocalSessions, SessionTakeover } from './takeover.js';

/**
 * An interim adapter giving the current (aedes) MQTT server the takeover contract of takeover.ts
 * without changing src/transport/: the server's client-auth hook sees every accepted CONNECT (so it
 * can report `onLocalSessionStarted`), and the server already ends the sessions that
 * `sessionsToEnd` names when a `client-credential.changed` event arrives, so ending a session by
 * client ID is a synthetic event delivered to the server's own bus subscription only (never
 * published). The new front door implements `LocalSessions` directly and this file goes away.
 */
const TAKEOVER = '\u0000takeover';

export interface AdaptedTransport {
  clientAuth: MqttClientAuth;
  bus: EventBus;
  sessions: LocalSessions;
  bind(takeover: SessionTakeover): void;
}

/** Told when a session is accepted and when it ends (metrics), until the new front door reports them itself. */
export interface SessionCounter {
  sessionOpened(): void;
  sessionClosed(): void;
}

export function adaptCurrentTransport(inner: MqttClientAuth, bus: EventBus, counter?: SessionCounter): AdaptedTransport {
  const sessionByClientId = new Map<string, string>();
  const clientIdBySession = new Map<string, string>();
  const toEnd = new Set<string>();
  const transportHandlers = new Set<EventHandler>();
  let takeover: SessionTakeover | undefined;

  const clientAuth: MqttClientAuth = {
    async authenticate(session, username, password, peer) {
      await inner.authenticate(session, username, password, peer);
      sessionByClientId.set(session.clientId, session.id);
      if (!clientIdBySession.has(session.id)) counter?.sessionOpened();
      clientIdBySession.set(session.id, session.clientId);
      takeover?.onLocalSessionStarted(session.clientId);
    },
    ended(sessionId) {
      const clientId = clientIdBySession.get(sessionId);
      if (clientId !== undefined) counter?.sessionClosed();
      clientIdBySession.delete(sessionId);
      if (clientId !== undefined && sessionByClientId.get(clientId) === sessionId) sessionByClientId.delete(clientId);
      toEnd.delete(sessionId);
      inner.ended(sessionId);
    },
    sessionsToEnd(event) {
      if (event.type === 'client-credential.changed' && event.credentialId === TAKEOVER) {
        const ending = [...toEnd];
        toEnd.clear();
        return ending;
      }
      return inner.sessionsToEnd(event);
    },
    admit: (sessionId, applicationName, endpointId) => inner.admit(sessionId, applicationName, endpointId),
  };

  const adaptedBus: EventBus = {
    kind: bus.kind,
    publish: (event) => bus.publish(event),
    subscribe(handler) {
      transportHandlers.add(handler);
      const unsubscribe = bus.subscribe(handler);
      return () => {
        transportHandlers.delete(handler);
        unsubscribe();
      };
    },
    close: () => bus.close(),
  };

  return {
    clientAuth,
    bus: adaptedBus,
    sessions: {
      endLocalSessionByClientId(clientId) {
        const sessionId = sessionByClientId.get(clientId);
        if (sessionId === undefined) return false;
        toEnd.add(sessionId);
        const event: TetherEvent = { type: 'client-credential.changed', credentialId: TAKEOVER, applicationName: '', change: 'deleted', at: new Date().toISOString() };
        for (const handler of transportHandlers) queueMicrotask(() => handler(event));
        return true;
      },
    },
    bind(t) {
      takeover = t;
    },
  };
}

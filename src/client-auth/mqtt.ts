import type { TetherEvent } from '../bus/bus.js';
import { type Logger, silentLogger } from '../core/log.js';
import { admit } from './policy.js';
import type { ClientAuthService, PeerInfo } from './service.js';
import type { ClientIdentity } from './types.js';

/** The MQTT server refuses the CONNECT with this: CONNACK 5 / 0x87 (not authorized) or 3 / 0x88 (server unavailable). */
export class ConnectRefused extends Error {
  constructor(
    readonly reason: string,
    // CONNACK 5: not authorized; 3: server unavailable (the check itself failed, e.g. storage).
    readonly returnCode: 3 | 5 = 5,
  ) {
    super(returnCode === 5 ? 'Not authorized' : 'Server unavailable');
  }
}

/**
 * The transport's view of client authentication: the CONNECT check, which session is authenticated
 * with which credential, and which sessions must end when a credential changes. The MQTT server
 * only forwards its CONNECT and request checks here; the decisions live in service.ts and policy.ts.
 */
export interface MqttClientAuth {
  /** CONNECT: resolves when the session may connect; rejects with ConnectRefused. */
  authenticate(session: { id: string; clientId: string }, username: string | undefined, password: Buffer | undefined, peer: PeerInfo | undefined): Promise<void>;
  /** The session ended. */
  ended(sessionId: string): void;
  /** Sessions to disconnect because of the event (a credential suspended, revoked, re-bound or deleted). */
  sessionsToEnd(event: TetherEvent): string[];
  /**
   * The request path, once the token names the endpoint: throws the 1/KP error (401/403) when the
   * application's mode or the credential's gateway binding does not let the session speak for it.
   */
  admit(sessionId: string, applicationName: string, endpointId: string): void;
}

interface Entry {
  identity: ClientIdentity;
  bound: ReadonlySet<string>;
}

export function createMqttClientAuth(service: ClientAuthService, logger: Logger = silentLogger): MqttClientAuth {
  const bySession = new Map<string, Entry>();
  const byCredential = new Map<string, Set<string>>();

  function remember(sessionId: string, identity: ClientIdentity): void {
    bySession.set(sessionId, { identity, bound: new Set(identity.boundEndpoints) });
    let sessions = byCredential.get(identity.credentialId);
    if (!sessions) byCredential.set(identity.credentialId, (sessions = new Set()));
    sessions.add(sessionId);
  }

  function ended(sessionId: string): void {
    const entry = bySession.get(sessionId);
    if (!entry) return;
    bySession.delete(sessionId);
    const sessions = byCredential.get(entry.identity.credentialId);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) byCredential.delete(entry.identity.credentialId);
  }

  return {
    async authenticate(session, username, password, peer) {
      let outcome;
      try {
        outcome = await service.authenticate({ clientId: session.clientId, username, password, peer });
      } catch (err) {
        logger.error({ err, clientId: session.clientId }, 'client authentication failed to run');
        throw new ConnectRefused('internal error', 3);
      }
      if (!outcome.ok) throw new ConnectRefused(outcome.reason);
      if (!outcome.identity) return;
      remember(session.id, outcome.identity);
      // A suspend or revoke committed while this CONNECT was being checked published its event
      // before the session was known here; reading the status again closes that gap.
      if (!(await service.stillActive(outcome.identity.credentialId))) {
        ended(session.id);
        throw new ConnectRefused('suspended');
      }
    },

    ended,

    sessionsToEnd(event) {
      if (event.type !== 'client-credential.changed' || event.change === 'reactivated') return [];
      return [...(byCredential.get(event.credentialId) ?? [])];
    },

    admit(sessionId, applicationName, endpointId) {
      const entry = bySession.get(sessionId);
      admit(service.config, entry?.identity, applicationName, endpointId, entry?.bound);
    },
  };
}

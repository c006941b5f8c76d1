import type { Aedes, AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Clock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import { KP1_PREFIX, redactTopic } from '../protocol/index.js';
import { LogThrottle, topicLimitProblem } from './limits.js';
import { addTo, removeFrom } from './session.js';
import type { Session, SessionTable } from './session.js';
import { isAllowedSubscription, responseScope } from './topic-filter.js';

/** aedes' persistence is not in its typings; the QoS 2 duplicate check needs one lookup. */
interface WithPersistence {
  persistence: { incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown> };
}

type RequestHandler = (session: Session, packet: PublishPacket) => Promise<boolean>;

export interface AuthorizationDeps {
  services: Services;
  sessions: SessionTable;
  limits: Limits;
  logger: Logger;
  clock: Clock;
  /** The request path; undefined until the broker is ready. */
  requests: () => RequestHandler | undefined;
  broker: () => Aedes | undefined;
  /**
   * Client authentication's per-application check (throws a TetherError when the session's
   * credential may not use the endpoint). Subscribing to an endpoint's responses needs the same
   * right as sending it requests.
   */
  admit?: (sessionId: string, applicationName: string, endpointId: string) => void;
}

/**
 * The MQTT front door's security hooks, in the aedes style: one named function per decision, each
 * refusing by default. Devices publish 1/KP requests (never forwarded to anyone), subscribe only to
 * response topics of a token they hold, and receive only what Tether itself published.
 */
export function createAuthorization(deps: AuthorizationDeps) {
  const { services, sessions, limits, logger } = deps;
  /** Sessions subscribed under a token, by token hash and by endpoint: what ends those subscriptions. */
  const byTokenHash = new Map<string, Set<Session>>();
  const byEndpoint = new Map<string, Set<Session>>();
  const subscribed = new WeakMap<Session, Array<{ tokenHash: string; endpointId: string }>>();
  /**
   * Sessions holding a subscription, by response scope (responseScope): a reply in a scope nobody
   * subscribed under goes to its requester alone. Counted from the grant until the session ends
   * (an UNSUBSCRIBE is not subtracted), so the count may be high but never low.
   */
  const scopeCounts = new Map<string, number>();
  const scopesOf = new WeakMap<Session, Set<string>>();
  const refusalLog = new LogThrottle(deps.clock);

  /**
   * Every device PUBLISH is a 1/KP request: it is processed (answered on /status or /error) and
   * never delivered to subscribers.
   */
  function authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    const session = client ? sessions.of(client) : undefined;
    const handleRequest = deps.requests();
    if (!client || !session || client.closed || !handleRequest) {
      // A will (published after the connection is gone) has no session to answer; Tether drops it.
      callback(new Error('wills are not published'));
      return;
    }
    // Device publishes are requests, never kept: no retained messages.
    packet.retain = false;
    const start = () =>
      // aedes sends the PUBACK (QoS 1) or PUBREC (QoS 2) only after this callback, so an
      // acknowledged update is a committed update.
      handleRequest(session, packet).then(
        (acknowledge) =>
          // An acknowledged update is a stored one: when Tether failed to store it, aedes gets an
          // error instead, sends no PUBACK/PUBREC and closes the connection; the device resends.
          callback(acknowledge ? null : new Error('request failed inside Tether and was not stored; not acknowledged')),
        (err: unknown) => {
          logger.error({ err, sessionId: session.id }, 'request handler failed');
          callback(null);
        },
      );
    const broker = deps.broker();
    if (packet.qos === 2 && packet.dup && broker) {
      // MQTT 4.3.3: a QoS 2 retransmission (DUP) still awaiting PUBREL was processed already;
      // aedes answers it with PUBREC alone.
      (broker as unknown as WithPersistence).persistence.incomingGetPacket(client, packet).then(() => callback(null), start);
      return;
    }
    void start();
  }

  /**
   * A device may subscribe only below `kp1/<appVersion>/<extension>/<endpointToken>/` where the
   * version exists, the extension is enabled for it and the token is usable in its application:
   * responses carry endpoint data, and holding the token is what entitles a client to them.
   * Anything else gets SUBACK 0x80 and the connection stays up.
   */
  function authorizeSubscribe(client: Client, sub: Subscription, callback: (error: Error | null, sub?: Subscription | null) => void): void {
    const session = sessions.of(client);
    // Refusals are logged at most once per interval: a client can send thousands in one packet.
    // The reason (unknown version, unknown or suspended token...) goes to the log, not to the client.
    const refuse = (err: TetherError, reason?: unknown) => {
      const held = refusalLog.pass();
      if (held !== undefined) {
        const fields = { code: err.code, status: err.status, clientId: client.id, filter: redactTopic(sub.topic) };
        const code = (reason as { code?: unknown } | null | undefined)?.code;
        logger.warn(
          { ...fields, ...(typeof code === 'string' && { reason: code }), ...(held > 0 && { alsoRefused: held }) },
          err.code === 'SUBSCRIPTION_DENIED' ? 'subscription refused' : `subscription refused: ${err.message}`,
        );
      }
      callback(null, null); // SUBACK failure (0x80)
    };
    if (!session || client.closed) {
      callback(null, null);
      return;
    }
    const problem = topicLimitProblem(sub.topic, limits);
    if (problem) return refuse(problem);
    if (!isAllowedSubscription(sub.topic)) return refuse(errors.subscriptionDenied(sub.topic));
    const [appVersionName = '', extensionInstance = '', token = ''] = sub.topic.slice(KP1_PREFIX.length).split('/', 3);
    // MQTT wildcards never reach here in these levels (isAllowedSubscription), but `a+b` is a
    // literal level in MQTT and no valid name or token: the lookups below refuse it.
    entitlement(session.id, appVersionName, extensionInstance, token).then(
      (record) => {
        if (session.closed || client.closed) return callback(null, null);
        remember(session, record.tokenHash, record.endpointId);
        countScope(session, responseScope(sub.topic));
        callback(null, sub);
      },
      (err: unknown) => refuse(errors.subscriptionDenied(sub.topic), err),
    );
  }

  async function entitlement(sessionId: string, appVersionName: string, extensionInstance: string, token: string) {
    const version = await services.applications.getVersion(appVersionName);
    if (!version.extensions.includes(extensionInstance)) throw errors.extensionNotEnabled(extensionInstance, version.name);
    // Also marks an INACTIVE token ACTIVE: subscribing to its responses is using it.
    const record = await services.credentials.resolveToken(version.applicationName, token);
    deps.admit?.(sessionId, version.applicationName, record.endpointId);
    return record;
  }

  /**
   * Only what Tether published itself (1/KP responses) reaches subscribers; a device's PUBLISH
   * carries its client ID and is a request to the platform, never a message for other clients.
   */
  function authorizeForward(_client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    return (packet as AedesPublishPacket & { clientId?: string }).clientId === undefined ? packet : null;
  }

  function remember(session: Session, tokenHash: string, endpointId: string): void {
    let list = subscribed.get(session);
    if (!list) subscribed.set(session, (list = []));
    if (list.some((s) => s.tokenHash === tokenHash)) return;
    list.push({ tokenHash, endpointId });
    addTo(byTokenHash, tokenHash, session);
    addTo(byEndpoint, endpointId, session);
  }

  function countScope(session: Session, scope: string): void {
    let scopes = scopesOf.get(session);
    if (!scopes) scopesOf.set(session, (scopes = new Set()));
    if (scopes.has(scope)) return;
    scopes.add(scope);
    scopeCounts.set(scope, (scopeCounts.get(scope) ?? 0) + 1);
  }

  function uncountScopes(session: Session): void {
    const scopes = scopesOf.get(session);
    if (!scopes) return;
    scopesOf.delete(session);
    // A non-clean session's subscriptions outlive it in aedes' persistence: messages are queued for
    // it and a reconnect gets them back without a SUBSCRIBE. They stay counted (for good: erring high).
    if (session.client.clean === false) return;
    for (const scope of scopes) {
      const count = (scopeCounts.get(scope) ?? 0) - 1;
      if (count > 0) scopeCounts.set(scope, count);
      else scopeCounts.delete(scope);
    }
  }

  return {
    authorizePublish,
    authorizeSubscribe,
    authorizeForward,
    /** Sessions subscribed under the token: a suspended or revoked token ends them. */
    subscribedWithToken: (tokenHash: string): Session[] => [...(byTokenHash.get(tokenHash) ?? [])],
    /** Sessions subscribed under a token of the endpoint: deleting the endpoint ends them. */
    subscribedForEndpoint: (endpointId: string): Session[] => [...(byEndpoint.get(endpointId) ?? [])],
    /** Whether any session may hold a subscription matching the topic (never false when one does). */
    mayHaveSubscribers: (topic: string): boolean => scopeCounts.has(responseScope(topic)),
    /** The session ended: drop it from the indexes. */
    forget(session: Session): void {
      uncountScopes(session);
      for (const { tokenHash, endpointId } of subscribed.get(session) ?? []) {
        removeFrom(byTokenHash, tokenHash, session);
        removeFrom(byEndpoint, endpointId, session);
      }
      subscribed.delete(session);
    },
  };
}

export type Authorization = ReturnType<typeof createAuthorization>;

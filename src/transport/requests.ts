import { createHash } from 'node:crypto';
import type { PublishPacket } from 'aedes';
import { type Clock, systemClock } from '../core/clock.js';
import { errors, isTetherError, toTetherError } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { ExtensionSet } from '../extensions/index.js';
import { errorPayload, errorTopic, parseKpTopic, redactTopic, statusTopic } from '../protocol/index.js';
import type { KpTopic } from '../protocol/index.js';
import { Gate, LogThrottle, TokenBucket, topicLimitProblem } from './limits.js';
import type { Responder } from './responder.js';
import type { Session, SessionTable } from './session.js';

const EMPTY = Buffer.alloc(0);

export interface RequestDeps {
  services: Services;
  extensions: ExtensionSet;
  sessions: SessionTable;
  respond: Responder;
  logger: Logger;
  /** Per-connection publish rate and in-flight limits; defaults: DEFAULT_LIMITS. */
  limits?: Pick<Limits, 'publishRate' | 'publishBurst' | 'maxInflight' | 'maxTopicLength' | 'maxTopicLevels'>;
  clock?: Clock;
  /** Throws the 1/KP error when the session may not speak for the endpoint (src/client-auth/). */
  admit?: (sessionId: string, applicationName: string, endpointId: string) => void;
}

/** What the limits keep per connection. */
interface ConnectionBudget {
  rate: TokenBucket;
  inflight: Gate;
  dropLog: LogThrottle;
}

/**
 * The path of every device PUBLISH: 1/KP topic -> app version -> extension instance -> token ->
 * connectivity -> extension -> response. Resolves once the request is fully processed (for updates:
 * committed), which is when aedes may send the PUBACK. Never rejects: failures become `/error` replies.
 */
export function createRequestHandler(deps: RequestDeps) {
  const { services, extensions, sessions, respond, logger } = deps;
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const clock = deps.clock ?? systemClock;
  const budgets = new WeakMap<Session, ConnectionBudget>();

  function budgetOf(session: Session): ConnectionBudget {
    let budget = budgets.get(session);
    if (!budget) {
      budget = { rate: new TokenBucket(clock, limits.publishRate, limits.publishBurst), inflight: new Gate(limits.maxInflight), dropLog: new LogThrottle(clock) };
      budgets.set(session, budget);
    }
    return budget;
  }

  /**
   * Over the publish rate: a QoS 1/2 request with a request ID is answered 429 on /error (the
   * device can back off); anything else is dropped. Either way one log line per interval at most.
   */
  function overRate(session: Session, packet: PublishPacket, budget: ConnectionBudget): void {
    const err = errors.rateLimited('requests on this connection');
    const held = budget.dropLog.pass();
    if (held !== undefined) {
      logger.warn(
        { code: err.code, status: err.status, sessionId: session.id, clientId: session.client.id, topic: redactTopic(packet.topic), ...(held > 0 && { alsoRefused: held }) },
        'request refused: publish rate limit (limits.publishRate) exceeded',
      );
    }
    if (packet.qos > 0 && requestIdOf(packet.topic) !== undefined) respond(session.client, errorTopic(packet.topic), errorPayload(err), packet.qos);
  }

  async function processRequest(session: Session, packet: PublishPacket, kp: KpTopic, previousTurn: Promise<void> | undefined, endTurn: () => void): Promise<void> {
    const version = await services.applications.getVersion(kp.appVersionName);
    if (!version.extensions.includes(kp.extensionInstance)) {
      throw errors.extensionNotEnabled(kp.extensionInstance, version.name);
    }
    const extension = extensions.resolve(kp.extensionInstance);
    if (!extension) throw errors.extensionUnavailable(kp.extensionInstance);

    const token = await services.credentials.resolveToken(version.applicationName, kp.endpointToken);
    const endpointId = token.endpointId;
    // Client authentication: the application's mode and the credential's gateway binding.
    deps.admit?.(session.id, version.applicationName, endpointId);
    sessions.noteUse(session, token.tokenHash, endpointId);
    if (!session.attached.has(endpointId)) {
      // 9/ELCE: the first valid request on a session connects the endpoint; once per session.
      // The request does not wait for that record to commit: connectivity writes attach and detach
      // of one endpoint in order, and the session's end waits for this before detaching.
      const attached = services.connectivity.attach(session.id, endpointId, version.applicationName).catch((err: unknown) => {
        // Kept in `attached` all the same: the session's end must still detach it.
        logger.error({ err, sessionId: session.id, endpointId }, 'recording the endpoint connected failed');
      });
      session.attached.set(endpointId, attached);
    }
    services.connectivity.seen(endpointId);

    // MQTT keeps a connection's messages in order; so do extensions, per token.
    if (previousTurn) await previousTurn;
    const handled = extension.handle(
      { resourcePath: kp.resourcePath, payload: packet.payload as Buffer, requestId: kp.requestId },
      { appVersion: version, instance: kp.extensionInstance, endpointId, token, sessionId: session.id, logger },
    );
    endTurn();
    const response = await handled;
    // 1/KP: without a request ID, no success response is published.
    if (kp.requestId !== undefined) {
      respond(session.client, statusTopic(packet.topic), response?.payload ?? EMPTY, packet.qos);
    }
  }

  function fail(session: Session, packet: PublishPacket, kp: KpTopic | undefined, cause: unknown): void {
    const err = toTetherError(cause);
    log(session, packet, kp, err, cause);
    // 1/KP only says success responses SHOULD NOT be sent without a request ID. Errors are still sent:
    // Kaa clients subscribe to `<topic>/error` for such requests too, and a silent failure is worse.
    respond(session.client, errorTopic(packet.topic), errorPayload(err), packet.qos);
  }

  function log(session: Session, packet: PublishPacket, kp: KpTopic | undefined, err: TetherError, cause: unknown): void {
    const fields: Record<string, unknown> = {
      code: err.code,
      status: err.status,
      sessionId: session.id,
      clientId: session.client.id,
      topic: redactTopic(packet.topic),
    };
    // Never the token itself: a hash prefix lets an operator match it against the token list.
    if (kp) fields['tokenHash'] = tokenHashPrefix(kp.endpointToken);
    if (isTetherError(cause) && err.status < 500) {
      // The KP_TOPIC_INVALID message quotes the topic, which may hold a token.
      logger.warn(fields, err.code === 'KP_TOPIC_INVALID' ? 'request refused: not a 1/KP topic' : `request refused: ${err.message}`);
    } else {
      logger.error({ ...fields, err: cause }, 'request failed');
    }
  }

  /**
   * Resolves `true` when the request may be acknowledged (PUBACK/PUBREC): it was handled, or refused
   * for a reason the device caused (its `/error` says why). `false` when Tether itself failed (5xx) on
   * a QoS 1/2 request: nothing was stored, so it must not be acknowledged; the device retransmits.
   */
  return function handleRequest(session: Session, packet: PublishPacket): Promise<boolean> {
    // The rate applies to every PUBLISH, well-formed or not: refusals cost a reply and a log line too.
    const budget = budgetOf(session);
    if (!budget.rate.take()) {
      overRate(session, packet, budget);
      return Promise.resolve(true);
    }
    let kp: KpTopic;
    try {
      const tooBig = topicLimitProblem(packet.topic, limits);
      if (tooBig) throw tooBig;
      kp = parseKpTopic(packet.topic);
    } catch (err) {
      fail(session, packet, undefined, err);
      return Promise.resolve(true);
    }
    const key = kp.endpointToken;
    const previousTurn = session.turnOf(key);
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => (endTurn = resolve));
    session.startTurn(key, turn);
    // Beyond maxInflight a request waits for a slot; aedes reads no further packets from the
    // connection until this batch is done, so the wait pushes back on the device.
    let leave: (() => void) | undefined;
    let acknowledge = true;
    const done = budget.inflight
      .enter()
      .then((release) => {
        leave = release;
        return processRequest(session, packet, kp, previousTurn, endTurn);
      })
      .catch((err: unknown) => {
        fail(session, packet, kp, err);
        if (packet.qos > 0 && toTetherError(err).status >= 500) acknowledge = false;
      })
      .finally(() => {
        leave?.();
        endTurn(); // a request that failed before reaching its extension must not block the next
        session.forgetTurn(key, turn);
        session.untrack(done);
      });
    session.track(done);
    return done.then(() => acknowledge);
  };
}

function requestIdOf(topic: string): number | undefined {
  try {
    return parseKpTopic(topic).requestId;
  } catch {
    return undefined;
  }
}

function tokenHashPrefix(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

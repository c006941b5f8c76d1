import { createHash } from 'node:crypto';
import { errors, isStorageFull, toTetherError } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { Limits } from '../core/limits.js';
import type { StorageFull } from '../core/storage-full.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { TokenRecord } from '../core/types.js';
import type { ExtensionSet, KpResponse } from '../extensions/index.js';
import { errorPayload, errorTopic, parseKpTopic, redactTopic, statusTopic } from '../protocol/index.js';
import type { KpTopic } from '../protocol/index.js';
import { topicLimitProblem } from './limits.js';
import { Reason, reasonForError } from './reason-codes.js';
import type { Channels } from './channels.js';
import type { Session, SessionTable } from './session.js';

const EMPTY = Buffer.alloc(0);

export interface RequestDeps {
  services: Services;
  extensions: ExtensionSet;
  sessions: SessionTable;
  /** Where pushes to devices go: a request shows the endpoint's token, which opens its channel. */
  channels?: Channels;
  logger: Logger;
  limits?: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>;
  /** Throws the 1/KP error when the session may not speak for the endpoint (src/client-auth/). */
  admit?: (sessionId: string, applicationName: string, endpointId: string) => void;
  /** Told of every write refused for a full disk, which it logs once per interval (src/core/storage-full.ts). */
  storageFull?: Pick<StorageFull, 'refused'>;
}

/** What became of one device PUBLISH; the PUBLISH handler turns it into the reply and the acknowledgement. */
export interface RequestOutcome {
  /**
   * Whether the PUBLISH may be acknowledged (PUBACK/PUBREC): it was handled, or refused for a reason the
   * device caused (its `/error` says why). False when Tether itself failed on it: nothing was stored.
   */
  acknowledge: boolean;
  /** MQTT 5 reason code for the PUBACK/PUBREC. */
  reason: number;
  /** The 1/KP `/status` or `/error` reply, when one is due. */
  reply?: { topic: string; payload: Buffer };
  /** The device caused a refusal (bad topic, unknown token, disabled extension...): counts towards its refusal limit. */
  refused: boolean;
  /** The refusal, for the connection's refusal log. */
  error?: TetherError;
  /** The extension instance the topic named, when it was a 1/KP topic (for metrics). */
  extension?: string;
}

/**
 * The path of every device PUBLISH: 1/KP topic -> app version -> extension instance -> token ->
 * connectivity -> extension. Resolves once the request is fully processed (for updates: committed).
 * Never rejects: failures become `/error` replies.
 */
export function createRequestHandler(deps: RequestDeps) {
  const { services, extensions, sessions, logger } = deps;
  const limits = deps.limits ?? DEFAULT_LIMITS;

  async function resolveToken(session: Session, applicationName: string, token: string): Promise<TokenRecord> {
    const known = session.knownToken(applicationName, token);
    if (known) return known;
    const record = await services.credentials.resolveToken(applicationName, token);
    session.rememberToken(applicationName, token, record);
    return record;
  }

  async function process(session: Session, topic: string, payload: Buffer, kp: KpTopic, previousTurn: Promise<void> | undefined, endTurn: () => void): Promise<RequestOutcome> {
    // Cached version and token: no promise to wait for (most requests).
    const version = services.applications.cachedVersion(kp.appVersionName) ?? (await services.applications.getVersion(kp.appVersionName));
    if (!version.extensions.includes(kp.extensionInstance)) {
      // Kaa's Python client opens with a request to an extension Tether may not serve (`bcx`): its
      // token still counts as shown, so configuration and commands reach the session.
      await openChannelQuietly(session, version.applicationName, version.name, kp.endpointToken);
      throw errors.extensionNotEnabled(kp.extensionInstance, version.name);
    }
    const extension = extensions.resolve(kp.extensionInstance);
    if (!extension) throw errors.extensionUnavailable(kp.extensionInstance);

    const token = session.knownToken(version.applicationName, kp.endpointToken) ?? (await resolveToken(session, version.applicationName, kp.endpointToken));
    const endpointId = token.endpointId;
    // Client authentication: the application's mode and the credential's gateway binding.
    deps.admit?.(session.id, version.applicationName, endpointId);
    sessions.noteUse(session, token.tokenHash, endpointId);
    if (!session.attached.has(endpointId)) {
      // 9/ELCE: the first valid request on a session connects the endpoint; once per session.
      // The request does not wait for that record to commit: connectivity writes attach and detach
      // of one endpoint in order, and the session's end waits for this before detaching.
      const attached = services.connectivity.attach(session.id, endpointId, version.applicationName).catch((err: unknown) => {
        // Kept in `attached` all the same: the session's end must still detach it. A full disk is
        // logged once per interval by deps.storageFull instead.
        if (isStorageFull(err)) deps.storageFull?.refused();
        else logger.error({ err, sessionId: session.id, endpointId }, 'recording the endpoint connected failed');
      });
      session.attached.set(endpointId, attached);
    }
    services.connectivity.seen(endpointId);

    const channel = deps.channels?.ensure(session, session.owner, endpointId, version.applicationName, version.name, kp.endpointToken);

    // MQTT keeps a connection's messages in order; so do extensions, per token.
    if (previousTurn) await previousTurn;
    const handled = extension.handle(
      { resourcePath: kp.resourcePath, payload, requestId: kp.requestId },
      { appVersion: version, instance: kp.extensionInstance, endpointId, token, sessionId: session.id, logger, ...(channel && { channel }) },
    );
    endTurn();
    let response: KpResponse | void;
    try {
      response = await handled;
    } finally {
      // After the reply is decided, so a first request for a configuration is answered before
      // anything is pushed on the same topic.
      if (channel) deps.channels!.announce(channel);
    }
    // 1/KP: without a request ID, no success response is published.
    return {
      acknowledge: true,
      reason: Reason.success,
      refused: false,
      extension: kp.extensionInstance,
      ...(kp.requestId !== undefined && { reply: { topic: statusTopic(topic), payload: response?.payload ?? EMPTY } }),
    };
  }

  async function openChannelQuietly(session: Session, applicationName: string, appVersionName: string, token: string): Promise<void> {
    if (!deps.channels) return;
    try {
      const record = await resolveToken(session, applicationName, token);
      deps.admit?.(session.id, applicationName, record.endpointId);
      deps.channels.open(session, session.owner, record.endpointId, applicationName, appVersionName, token);
    } catch {
      // The request's own error is what the device hears.
    }
  }

  function failed(session: Session, topic: string, qos: number, kp: KpTopic | undefined, cause: unknown): RequestOutcome {
    const err = toTetherError(cause);
    const internal = err.status >= 500;
    const full = err.code === errors.storageFull.code;
    const away = err.code === errors.unavailable.code;
    if (full) deps.storageFull?.refused();
    else if (internal) logInternal(session, topic, kp, err, cause);
    // 1/KP only says success responses SHOULD NOT be sent without a request ID. Errors are still sent:
    // Kaa clients subscribe to `<topic>/error` for such requests too, and a silent failure is worse.
    return {
      // An acknowledged update is a stored one: when Tether failed to store it, no PUBACK/PUBREC.
      acknowledge: !(internal && qos > 0),
      reason: reasonForError(err),
      refused: !internal,
      reply: { topic: errorTopic(topic), payload: errorPayload(err) },
      // STORAGE_FULL and UNAVAILABLE go with the outcome too: the PUBLISH handler keeps a 3.1.1 connection for them.
      ...((!internal || full || away) && { error: err }),
      ...(kp && { extension: kp.extensionInstance }),
    };
  }

  // Refusals a device causes are logged by the connection, counted and throttled (refusals.ts);
  // failures inside Tether are logged here, each with its cause.
  function logInternal(session: Session, topic: string, kp: KpTopic | undefined, err: TetherError, cause: unknown): void {
    logger.error(
      {
        code: err.code,
        status: err.status,
        sessionId: session.id,
        clientId: session.clientId,
        topic: redactTopic(topic),
        // Never the token itself: a hash prefix lets an operator match it against the token list.
        ...(kp && { tokenHash: tokenHashPrefix(kp.endpointToken) }),
        err: cause,
      },
      'request failed',
    );
  }

  return function handleRequest(session: Session, topic: string, payload: Buffer, qos: number): Promise<RequestOutcome> {
    let kp: KpTopic;
    try {
      const tooBig = topicLimitProblem(topic, limits);
      if (tooBig) throw tooBig;
      kp = parseKpTopic(topic);
    } catch (err) {
      return Promise.resolve(failed(session, topic, qos, undefined, err));
    }
    const key = kp.endpointToken;
    const previousTurn = session.turnOf(key);
    // Most requests reach their extension before process() first waits (version and token cached,
    // no earlier request of the token still on its way): their turn is over when process() returns
    // and needs no promise. Only one that is still waiting leaves a turn for the next to wait on.
    let ended = false;
    let endTurn: () => void = () => {
      ended = true;
    };
    const processed = process(session, topic, payload, kp, previousTurn, () => endTurn());
    let turn: Promise<void> | undefined;
    if (!ended) {
      turn = new Promise<void>((resolve) => (endTurn = resolve));
      session.startTurn(key, turn);
    }
    const done = processed.then(undefined, (err: unknown) => failed(session, topic, qos, kp, err));
    const settled = done.then(() => {
      endTurn(); // a request that failed before reaching its extension must not block the next
      if (turn) session.forgetTurn(key, turn);
      session.untrack(settled);
    });
    session.track(settled);
    return done;
  };
}

export type RequestHandler = ReturnType<typeof createRequestHandler>;

function tokenHashPrefix(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

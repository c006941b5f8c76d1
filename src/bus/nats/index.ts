import { type ConsumerMessages, DeliverPolicy, type JetStreamClient, type NatsConnection, RetentionPolicy, StorageType, connect } from 'nats';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { LocalHandlers } from '../local-handlers.js';
import type { EventBus, EventHandler, SubscribeOptions, TetherEvent, TetherEventType } from '../bus.js';

/**
 * The EventBus between nodes, over NATS.
 *
 * - Local subscribers hear an event straight away, as on the in-process bus: a node's own session
 *   kicks and live view never depend on NATS being up.
 * - Other nodes hear it through NATS. Events whose loss would leave a session running that an
 *   operator ended (token status, endpoint and application deletion, client credential changes,
 *   application version changes) go through a JetStream stream: `publish` resolves once the stream
 *   stored the event (or, while NATS is away, once the event is held to be stored when it is back),
 *   and each node reads the stream with an ordered consumer that resumes where it stopped after a
 *   reconnect. The high-volume live-view events (metadata, connectivity, new
 *   endpoints, session starts) go over core NATS: one missed during a partition only delays a
 *   dashboard refresh, storage holds the truth.
 * - Subjects are `<prefix>.events.<type>` (core) and `<prefix>.durable.<type>` (JetStream); the
 *   payload is `{ origin, event }`, and a node skips its own events when they come back.
 */
export interface NatsBusOptions {
  /** `nats://host:port`, or several separated by commas. */
  url: string;
  nodeId: string;
  /** Subject prefix and stream name stem, so several Tether platforms can share one NATS. Default `tether`. */
  prefix?: string;
  logger?: Logger;
  /** How long JetStream keeps events (default 1 h): a node away longer resets from storage anyway. */
  retentionMs?: number;
  /** Told on every event received from another node (metrics). */
  onRemoteEvent?: (type: TetherEventType) => void;
}

const DURABLE: ReadonlySet<TetherEventType> = new Set<TetherEventType>([
  'token.status-changed',
  'endpoint.deleted',
  'client-credential.changed',
  'app-version.changed',
  'application.deleted',
  // A command or configuration for a device on another node must reach it while it is connected.
  'commands.created',
  'configuration.changed',
  // An offered update must reach a device on another node, and a rollout must count every report.
  'software.offered',
  'software.reported',
]);

/** Durable events held while NATS is away, at most (a token revocation storm during an outage). */
const MAX_PENDING_DURABLE = 10_000;

interface Envelope {
  origin: string;
  event: TetherEvent;
}

export interface NatsBus extends EventBus {
  /** True while connected to a NATS server (/readyz). */
  connected(): boolean;
}

/** Connects and returns a ready bus; an unreachable NATS fails here with one line. */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const prefix = options.prefix ?? 'tether';
  const logger = options.logger;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url.split(',').map((s) => s.trim()),
      name: `tether-${options.nodeId}`,
      // Core events this node publishes do not come back to it.
      noEcho: true,
      maxReconnectAttempts: -1,
      // Backoff between reconnect attempts: 250 ms doubling to 8 s, with jitter.
      reconnectDelayHandler: backoff(),
      timeout: 5000,
    });
  } catch (err) {
    const { code, message } = err as { code?: string; message?: string };
    const problem = code === 'CONNECTION_REFUSED' ? 'connection refused (is nats-server running and listening there?)' : (message ?? String(err));
    throw errors.dependencyUnreachable('NATS', options.url, problem, '--nats-url (or TETHER_NATS_URL)');
  }

  const handlers = new LocalHandlers();
  let closed = false;
  let isConnected = true;
  const stream = `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_EVENTS`;

  const deliver = (event: TetherEvent, remote: boolean) => handlers.deliver(event, remote);
  const receive = (data: Uint8Array) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(new TextDecoder().decode(data)) as Envelope;
    } catch {
      return;
    }
    if (envelope.origin === options.nodeId || typeof envelope.event?.type !== 'string') return;
    options.onRemoteEvent?.(envelope.event.type);
    deliver(envelope.event, true);
  };

  let js: JetStreamClient;
  let messages: ConsumerMessages;
  try {
    const jsm = await nc.jetstreamManager();
    const config = {
      name: stream,
      subjects: [`${prefix}.durable.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: (options.retentionMs ?? 3_600_000) * 1_000_000,
    };
    await jsm.streams.add(config).catch(async () => jsm.streams.update(stream, config));
    js = nc.jetstream();
    // No filter: the stream holds only these subjects (and nats-server 2.9 cannot filter an ordered consumer).
    const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.New });
    messages = await consumer.consume();
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw errors.dependencyUnreachable('NATS JetStream', options.url, `${(err as Error).message ?? String(err)} (start nats-server with -js)`, '--nats-url (or TETHER_NATS_URL)');
  }
  void (async () => {
    for await (const message of messages) receive(message.data);
  })().catch((err: unknown) => logger?.error({ err }, 'NATS JetStream consumer ended'));

  const core = nc.subscribe(`${prefix}.events.>`, { callback: (err, message) => (err ? undefined : receive(message.data)) });
  // A round trip: the server has the subscription before the bus is handed out, so no event
  // published after start-up is missed.
  await nc.flush();

  // Durable events JetStream has not stored yet (NATS away, or a publish that failed), oldest first:
  // sent again, in order, when NATS is back, so a token revoked on this node while NATS was down
  // still ends the device's session on the others. Kept in memory only: a node that dies meanwhile
  // loses them, and the other nodes find the truth in storage when devices next use their tokens.
  const pendingDurable: Array<{ subject: string; data: Uint8Array; type: TetherEventType }> = [];
  let dropped = 0;
  let flushing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const holdDurable = (subject: string, data: Uint8Array, type: TetherEventType, err?: unknown) => {
    if (pendingDurable.length === 0) logger?.warn({ err, type }, 'NATS is away: durable events are held and published when it is back');
    if (pendingDurable.length >= MAX_PENDING_DURABLE) {
      pendingDurable.shift();
      if (dropped++ === 0) logger?.error({ max: MAX_PENDING_DURABLE }, 'too many durable events held while NATS is away: the oldest are dropped');
    }
    pendingDurable.push({ subject, data, type });
  };
  const flushDurable = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    clearTimeout(retryTimer);
    try {
      while (pendingDurable.length > 0 && isConnected && !closed) {
        const next = pendingDurable[0]!;
        try {
          await js.publish(next.subject, next.data, { timeout: 5000 });
          pendingDurable.shift();
        } catch (err) {
          logger?.warn({ err, type: next.type, pending: pendingDurable.length }, 'publishing a held durable event failed; retrying in 1 s');
          break;
        }
      }
      if (pendingDurable.length === 0 && dropped > 0) {
        logger?.error({ dropped }, 'durable events were dropped while NATS was away; other nodes learn of them from storage');
        dropped = 0;
      }
    } finally {
      flushing = false;
    }
    if (pendingDurable.length > 0 && isConnected && !closed) retryTimer = setTimeout(() => void flushDurable(), 1000).unref();
  };

  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        isConnected = false;
        logger?.warn({ server: status.data }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        isConnected = true;
        logger?.info({ server: status.data, pendingDurableEvents: pendingDurable.length }, 'NATS reconnected');
        void flushDurable();
      }
    }
  })().catch(() => undefined);

  return {
    kind: 'nats',

    connected: () => isConnected && !closed,

    async publish(event: TetherEvent): Promise<void> {
      if (closed) throw errors.unavailable();
      deliver(event, false);
      const data = new TextEncoder().encode(JSON.stringify({ origin: options.nodeId, event } satisfies Envelope));
      if (DURABLE.has(event.type)) {
        const subject = `${prefix}.durable.${event.type}`;
        // Behind held events, or while NATS is away: held, so the caller (a REST request) is not kept waiting.
        if (!isConnected || pendingDurable.length > 0) return holdDurable(subject, data, event.type);
        try {
          await js.publish(subject, data, { timeout: 5000 });
        } catch (err) {
          holdDurable(subject, data, event.type, err);
          void flushDurable();
        }
        return;
      }
      nc.publish(`${prefix}.events.${event.type}`, data);
    },

    subscribe(handler: EventHandler, subscribeOptions?: SubscribeOptions): () => void {
      return handlers.add(handler, subscribeOptions?.localOnly ?? false);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      handlers.clear();
      core.unsubscribe();
      messages.stop();
      // drain: what this node published is flushed to the server before the connection closes.
      await nc.drain().catch(() => nc.close());
    },
  };
}

function backoff(): () => number {
  let attempt = 0;
  let last = 0;
  return () => {
    // A quiet minute since the last attempt starts the ladder again.
    if (Date.now() - last > 60_000) attempt = 0;
    last = Date.now();
    const base = Math.min(8000, 250 * 2 ** attempt++);
    return base / 2 + Math.random() * (base / 2);
  };
}

import { type ConsumerMessages, DeliverPolicy, type JetStreamClient, type NatsConnection, RetentionPolicy, StorageType, connect } from 'nats';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { EventBus, EventHandler, SubscribeOptions, TetherEvent, TetherEventType } from '../bus.js';

/**
 * The EventBus between nodes, over NATS.
 *
 * - Local subscribers hear an event straight away, as on the in-process bus: a node's own session
 *   kicks and live view never depend on NATS being up.
 * - Other nodes hear it through NATS. Events whose loss would leave a session running that an
 *   operator ended (token status, endpoint and application deletion, client credential changes,
 *   application version changes) go through a JetStream stream: `publish` resolves once the stream
 *   stored the event, and each node reads the stream with an ordered consumer that resumes where
 *   it stopped after a reconnect. The high-volume live-view events (metadata, connectivity, new
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
]);

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

  const handlers = new Set<EventHandler>();
  // Subscribed with `localOnly`: skipped for events from other nodes.
  const localOnly = new WeakSet<EventHandler>();
  let closed = false;
  let isConnected = true;
  const stream = `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_EVENTS`;

  const deliver = (event: TetherEvent, remote: boolean) => {
    for (const handler of [...handlers]) {
      if (remote && localOnly.has(handler)) continue;
      queueMicrotask(() => {
        if (!handlers.has(handler)) return;
        try {
          handler(event);
        } catch {
          // A throwing handler must not affect the others; it is the subscriber's job to log.
        }
      });
    }
  };
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

  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        isConnected = false;
        logger?.warn({ server: status.data }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        isConnected = true;
        logger?.info({ server: status.data }, 'NATS reconnected');
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
        try {
          await js.publish(`${prefix}.durable.${event.type}`, data, { timeout: 5000 });
          return;
        } catch (err) {
          // Stored nowhere: still hand it to core NATS (buffered while reconnecting) rather than drop it.
          logger?.warn({ err, type: event.type }, 'JetStream publish failed; sent over core NATS instead');
        }
      }
      nc.publish(`${prefix}.events.${event.type}`, data);
    },

    subscribe(handler: EventHandler, subscribeOptions?: SubscribeOptions): () => void {
      const subscription: EventHandler = (event) => handler(event);
      if (subscribeOptions?.localOnly) localOnly.add(subscription);
      handlers.add(subscription);
      return () => {
        handlers.delete(subscription);
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
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

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import { errors } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import { createEpmxExtension, createExtensionSet } from '../extensions/index.js';
import type { Extension } from '../extensions/index.js';
import { redactTopic } from '../protocol/index.js';
import { IntakeStream } from './intake.js';
import { createRequestHandler } from './requests.js';
import { createResponder } from './responder.js';
import { Session, SessionTable } from './session.js';
import { isAllowedSubscription } from './topic-filter.js';

/** aedes' persistence is not in its typings; the QoS 2 duplicate check needs one lookup. */
interface WithPersistence {
  persistence: { incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown> };
}

export interface MqttServerDeps {
  services: Services;
  bus: EventBus;
  logger: Logger;
  /** Extension types served; default: EPMX (10/EPMP). */
  extensions?: Extension[];
  /** Extra extension instance names and their types, e.g. `{ "epmx-2": "epmx" }`. */
  extensionInstances?: Record<string, string>;
  /** How long a connection may take to send CONNECT (aedes `connectTimeout`). Default 30 s. */
  connectTimeoutMs?: number;
}

export interface MqttServer {
  /** Listens on TCP; resolves with the bound port (useful with port 0). May be called more than once. */
  listen(port: number, host: string): Promise<number>;
  /** Serves one connection from any transport (TCP, TLS, WebSocket): the MQTT core only sees a stream. */
  handle(stream: Duplex): void;
  /** Stops listening, closes every session and waits until their endpoints are detached. */
  close(): Promise<void>;
  /** Open connections. */
  sessionCount(): number;
}

/**
 * The Kaa KPC front door: an MQTT 3.1/3.1.1 server (aedes) where every device PUBLISH is a 1/KP
 * request to the platform, answered on `<topic>/status` or `<topic>/error`, and never forwarded
 * to other clients.
 */
export function createMqttServer(deps: MqttServerDeps): MqttServer {
  const { services, bus } = deps;
  const logger = deps.logger.child({ component: 'mqtt' });
  const sessions = new SessionTable();
  const extensions = createExtensionSet(
    deps.extensions ?? [createEpmxExtension({ registry: services.registry })],
    deps.extensionInstances,
  );
  const lifetimes = new Set<Promise<void>>();
  const intakes = new Set<IntakeStream>();
  const servers: net.Server[] = [];
  let handleRequest: ReturnType<typeof createRequestHandler> | undefined;
  let closed = false;

  function authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    const session = client ? sessions.of(client) : undefined;
    if (!client || !session || client.closed || !handleRequest) {
      // A will (published after the connection is gone) has no session to answer; Tether drops it.
      callback(new Error('wills are not published'));
      return;
    }
    // Device publishes are requests, never kept: no retained messages.
    packet.retain = false;
    const run = handleRequest;
    const start = () =>
      // aedes sends the PUBACK (QoS 1) or PUBREC (QoS 2) only after this callback, so an
      // acknowledged update is a committed update.
      run(session, packet).then(
        () => callback(null),
        (err: unknown) => {
          logger.error({ err, sessionId: session.id }, 'request handler failed');
          callback(null);
        },
      );
    if (packet.qos === 2 && packet.dup && broker) {
      // MQTT 4.3.3: a QoS 2 retransmission (DUP) still awaiting PUBREL was processed already;
      // aedes answers it with PUBREC alone.
      (broker as unknown as WithPersistence).persistence.incomingGetPacket(client, packet).then(() => callback(null), start);
      return;
    }
    void start();
  }

  function authorizeSubscribe(client: Client, sub: Subscription, callback: (error: Error | null, sub?: Subscription | null) => void): void {
    if (isAllowedSubscription(sub.topic)) {
      callback(null, sub);
      return;
    }
    const err = errors.subscriptionDenied(sub.topic);
    logger.warn({ code: err.code, status: err.status, clientId: client.id, filter: redactTopic(sub.topic) }, 'subscription refused');
    callback(null, null); // SUBACK failure (0x80); the connection stays up
  }

  // A PUBLISH from a device carries the publishing client's ID; responses published by Tether do not.
  function authorizeForward(_client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    return (packet as AedesPublishPacket & { clientId?: string }).clientId === undefined ? packet : null;
  }

  const brokerReady = Aedes.createBroker({
    connectTimeout: deps.connectTimeoutMs ?? 30_000,
    authorizePublish,
    authorizeSubscribe,
    authorizeForward,
  }).then((broker) => {
    // aedes emits `error` when its persistence fails; unhandled, that would end the process.
    (broker as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));
    broker.on('clientError', (client: Client, err: Error) => logger.debug({ clientId: client.id, err: err.message }, 'client error'));
    broker.on('connectionError', (_client: Client, err: Error) => logger.debug({ err: err.message }, 'connection error'));
    handleRequest = createRequestHandler({ services, extensions, sessions, respond: createResponder(broker, logger), logger });
    return broker;
  });
  let broker: Aedes | undefined;
  void brokerReady.then((b) => (broker = b), (err: unknown) => logger.error({ err }, 'MQTT broker failed to start'));

  const unsubscribe = bus.subscribe((event) => onEvent(event));

  function onEvent(event: TetherEvent): void {
    if (event.type === 'token.status-changed' && (event.status === 'SUSPENDED' || event.status === 'REVOKED')) {
      for (const session of sessions.usingToken(event.tokenHash)) kick(session, `token ${event.status.toLowerCase()}`);
    } else if (event.type === 'endpoint.deleted') {
      for (const session of sessions.speakingFor(event.endpointId)) kick(session, 'endpoint deleted');
    }
  }

  function kick(session: Session, reason: string): void {
    logger.info({ sessionId: session.id, clientId: session.client.id, reason }, 'closing session');
    session.client.close();
  }

  function serve(b: Aedes, stream: Duplex): void {
    let client: Client | undefined;
    const intake = new IntakeStream(stream, () => client !== undefined && (client.connecting || client.connected));
    client = b.handle(intake);
    const session = new Session(randomUUID(), client);
    sessions.add(session);
    intakes.add(intake);
    logger.debug({ sessionId: session.id }, 'session opened');
    // Registered after aedes' own listener, which runs the packets queued before CONNACK.
    client.once('connected', () => intake.release());
    const lifetime = new Promise<void>((resolve) => {
      intake.once('close', () => {
        intakes.delete(intake);
        void end(session).finally(resolve);
      });
    });
    lifetimes.add(lifetime);
    void lifetime.then(() => lifetimes.delete(lifetime));
  }

  async function end(session: Session): Promise<void> {
    sessions.remove(session);
    logger.debug({ sessionId: session.id, clientId: session.client.id }, 'session closed');
    // Requests already received (e.g. a PUBLISH pipelined before DISCONNECT) finish first, so the
    // endpoint is detached after, not before, they attached it.
    await session.drain();
    if (session.attached.size === 0) return;
    await Promise.allSettled(session.attached.values());
    try {
      await services.connectivity.detachSession(session.id);
    } catch (err) {
      logger.error({ err, sessionId: session.id }, 'detaching session failed');
    }
  }

  function handle(stream: Duplex): void {
    if (closed) {
      stream.destroy();
      return;
    }
    if (broker) {
      serve(broker, stream);
      return;
    }
    const swallow = () => {};
    stream.on('error', swallow); // until the intake takes the stream over
    brokerReady.then(
      (b) => {
        stream.off('error', swallow);
        if (closed || stream.destroyed) stream.destroy();
        else serve(b, stream);
      },
      () => stream.destroy(),
    );
  }

  async function listen(port: number, host: string): Promise<number> {
    await brokerReady;
    if (closed) throw new Error('MQTT server is closed');
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => handle(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => logger.error({ err }, 'MQTT listener error'));
    servers.push(server);
    const bound = (server.address() as AddressInfo).port;
    logger.info({ host, port: bound }, 'MQTT listening');
    return bound;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    unsubscribe();
    const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    const b = await brokerReady.catch(() => undefined);
    if (b) await new Promise<void>((resolve) => b.close(() => resolve()));
    // Connections that never completed CONNECT are not aedes clients; end them too.
    for (const intake of intakes) intake.destroy();
    await Promise.all([...lifetimes]);
    await Promise.all(stopped);
  }

  return { listen, handle, close, sessionCount: () => sessions.size };
}

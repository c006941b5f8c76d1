import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { AuthenticateError, Client } from 'aedes';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { MqttClientAuth } from '../client-auth/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import { withDefaultLimits } from '../core/limits.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import { createEpmxExtension, createExtensionSet } from '../extensions/index.js';
import type { Extension } from '../extensions/index.js';
import { createAuthorization } from './authorize.js';
import { IntakeStream } from './intake.js';
import { ConnectionCounter, LogThrottle } from './limits.js';
import { PacketSizeGuard } from './packet-guard.js';
import { peerOf } from './peer.js';
import { createRequestHandler } from './requests.js';
import { createResponder } from './responder.js';
import { Session, SessionTable } from './session.js';

export interface MqttServerDeps {
  services: Services;
  bus: EventBus;
  logger: Logger;
  /** Extension types served; default: EPMX (10/EPMP). */
  extensions?: Extension[];
  /** Extra extension instance names and their types, e.g. `{ "epmx-2": "epmx" }`. */
  extensionInstances?: Record<string, string>;
  /** How long a connection may take to send CONNECT (aedes `connectTimeout`). Default: limits.connectTimeoutMs. */
  connectTimeoutMs?: number;
  /** Packet, topic, rate and connection limits; missing ones take DEFAULT_LIMITS (core/limits.ts). */
  limits?: Partial<Limits>;
  /** Time for the publish rate limit; tests pass a controllable one. */
  clock?: Clock;
  /** Client authentication (src/client-auth/): CONNECT credentials and per-application checks. Anonymous when absent. */
  clientAuth?: MqttClientAuth;
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
  const { services, bus, clientAuth } = deps;
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

  const limits = withDefaultLimits(deps.limits);
  const clock = deps.clock ?? systemClock;
  const connections = new ConnectionCounter(limits.maxConnections, limits.maxConnectionsPerIp);
  // Refused connections and oversized packets: one log line per interval, however many there are.
  const connectionLog = new LogThrottle(clock);
  let broker: Aedes | undefined;
  const authorization = createAuthorization({
    services,
    sessions,
    limits,
    logger,
    clock,
    requests: () => handleRequest,
    broker: () => broker,
    ...(clientAuth && { admit: clientAuth.admit }),
  });

  const brokerReady = Aedes.createBroker({
    connectTimeout: deps.connectTimeoutMs ?? limits.connectTimeoutMs,
    authorizePublish: authorization.authorizePublish,
    authorizeSubscribe: authorization.authorizeSubscribe,
    authorizeForward: authorization.authorizeForward,
    ...(clientAuth && { authenticate }),
  }).then((broker) => {
    // aedes emits `error` when its persistence fails; unhandled, that would end the process.
    (broker as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));
    broker.on('clientError', (client: Client, err: Error) => logger.debug({ clientId: client.id, err: err.message }, 'client error'));
    broker.on('connectionError', (_client: Client, err: Error) => logger.debug({ err: err.message }, 'connection error'));
    handleRequest = createRequestHandler({ services, extensions, sessions, respond: createResponder(broker, logger, authorization.mayHaveSubscribers), logger, limits, clock, ...(clientAuth && { admit: clientAuth.admit }) });
    return broker;
  });
  void brokerReady.then((b) => (broker = b), (err: unknown) => logger.error({ err }, 'MQTT broker failed to start'));

  const unsubscribe = bus.subscribe((event) => onEvent(event));

  // aedes `authenticate`: the decision is client-auth's; a refusal is CONNACK 5 (3 if the check failed).
  function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const session = sessions.of(client);
    if (!clientAuth || !session) {
      done(Object.assign(new Error('Not authorized'), { returnCode: 5 }) as AuthenticateError, false);
      return;
    }
    clientAuth.authenticate({ id: session.id, clientId: client.id }, username, password, peerOf(client.conn)).then(
      () => done(null, true),
      (err: Error & { returnCode?: number }) => done(Object.assign(err, { returnCode: err.returnCode === 3 ? 3 : 5 }) as AuthenticateError, false),
    );
  }

  function onEvent(event: TetherEvent): void {
    if (event.type === 'token.status-changed' && (event.status === 'SUSPENDED' || event.status === 'REVOKED')) {
      const reason = `token ${event.status.toLowerCase()}`;
      for (const session of sessions.usingToken(event.tokenHash)) kick(session, reason);
      // Subscribed to the token's responses without publishing on it: the subscription ends too.
      for (const session of authorization.subscribedWithToken(event.tokenHash)) kick(session, reason);
    } else if (event.type === 'endpoint.deleted') {
      for (const session of sessions.speakingFor(event.endpointId)) kick(session, 'endpoint deleted');
      for (const session of authorization.subscribedForEndpoint(event.endpointId)) kick(session, 'endpoint deleted');
    } else if (event.type === 'client-credential.changed' && clientAuth) {
      const ending = new Set(clientAuth.sessionsToEnd(event));
      if (ending.size === 0) return;
      for (const session of sessions.all()) if (ending.has(session.id)) kick(session, `client credential ${event.change}`);
    }
  }

  function kick(session: Session, reason: string): void {
    if (session.client.closed) return;
    logger.info({ sessionId: session.id, clientId: session.client.id, reason }, 'closing session');
    session.client.close();
  }

  function serve(b: Aedes, stream: Duplex): void {
    let client: Client | undefined;
    // Registered before the intake's own listener: a packet over limits.maxPacketSize ends the
    // connection before the MQTT parser buffers it.
    const guard = new PacketSizeGuard(limits.maxPacketSize);
    const watch = (chunk: Buffer | string) => {
      const verdict = guard.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (!verdict) return;
      stream.off('data', watch);
      const err = verdict.kind === 'too-large' ? errors.packetTooLarge(limits.maxPacketSize) : errors.mqttPacketMalformed(verdict.problem);
      logRefusal(err, { clientId: client?.id ?? undefined, ...(verdict.kind === 'too-large' && { size: verdict.size }) }, 'connection closed');
      intake.destroy();
    };
    stream.on('data', watch);
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
    authorization.forget(session);
    clientAuth?.ended(session.id);
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

  function logRefusal(err: TetherError, fields: Record<string, unknown>, what: string): void {
    const held = connectionLog.pass();
    if (held === undefined) return;
    logger.warn({ code: err.code, status: err.status, ...fields, ...(held > 0 && { alsoRefused: held }) }, `${what}: ${err.message}`);
  }

  function handle(stream: Duplex): void {
    if (closed) {
      stream.destroy();
      return;
    }
    // TLS and WebSocket transports attach their peer; a plain TCP socket knows its address.
    const remoteAddress = peerOf(stream)?.remoteAddress ?? (stream as Partial<net.Socket>).remoteAddress;
    const admitted = connections.admit(remoteAddress);
    if ('refused' in admitted) {
      const err =
        admitted.refused === 'total'
          ? errors.tooManyConnections('in total', limits.maxConnections)
          : errors.tooManyConnections('from one address', limits.maxConnectionsPerIp);
      logRefusal(err, { remoteAddress }, 'connection refused');
      stream.on('error', () => {});
      stream.destroy();
      return;
    }
    stream.once('close', admitted.release);
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

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { MqttClientAuth } from '../client-auth/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import { withDefaultLimits } from '../core/limits.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { StorageFull } from '../core/storage-full.js';
import type { Services } from '../core/services.js';
import { createEpmxExtension, createExtensionSet } from '../extensions/index.js';
import type { Extension } from '../extensions/index.js';
import type { ClientState } from './client-state.js';
import { Connection } from './connection.js';
import type { ConnectionHost } from './connection.js';
import type { ServerContext } from './context.js';
import { LogThrottle } from '../core/log-throttle.js';
import { ConnectionCounter } from './limits.js';
import { PacketDecoder } from './framing.js';
import { dispatch } from './packets/index.js';
import { peerOf } from './peer.js';
import { Pressure } from './pressure.js';
import { Reason } from './reason-codes.js';
import { Refusals } from './refusals.js';
import { createRequestHandler } from './requests.js';
import { flat } from '../core/flat.js';
import { SessionTable } from './session.js';
import { Channels } from './channels.js';
import type { DeviceLink } from '../core/device-link.js';
import type { Session } from './session.js';
import { SubscriptionIndex } from './subscriptions.js';

export interface MqttServerDeps {
  services: Services;
  bus: EventBus;
  logger: Logger;
  /** Extension types served; default: EPMX (10/EPMP). */
  extensions?: Extension[];
  /** Extra extension instance names and their types, e.g. `{ "epmx-2": "epmx" }`. */
  extensionInstances?: Record<string, string>;
  /** How long a connection may take to send CONNECT. Default: limits.connectTimeoutMs. */
  connectTimeoutMs?: number;
  /** Packet, topic, rate and connection limits; missing ones take DEFAULT_LIMITS (core/limits.ts). */
  limits?: Partial<Limits>;
  /** Time for keepalive, rate and refusal limits; tests pass a controllable one (and call `sweep`). */
  clock?: Clock;
  /** Client authentication (src/client-auth/): CONNECT credentials and per-application checks. Anonymous when absent. */
  clientAuth?: MqttClientAuth;
  /** Told about sessions and requests (metrics, cross-node takeover); every hook optional. */
  hooks?: TransportHooks;
  /** Told of device writes refused for a full disk, logged once per interval (src/core/storage-full.ts). */
  storageFull?: Pick<StorageFull, 'refused'>;
}

/** What the MQTT core reports to the rest of a node (src/metrics/, src/cluster/takeover.ts). */
export interface TransportHooks {
  /** A CONNECT was accepted: the session with this client ID now lives here. */
  sessionStarted?(clientId: string): void;
  /** A connected session ended. */
  sessionEnded?(clientId: string): void;
  /** A 1/KP request finished: its extension instance (`-` when the topic named none) and `ok` or the error code. */
  request?(extension: string, outcome: string): void;
  /** Seconds from a QoS 1/2 PUBLISH arriving to its PUBACK / PUBREC being queued for writing. */
  acknowledged?(seconds: number): void;
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
  /** Checks CONNECT timeouts, keepalives and expired persistent sessions now; runs every second by itself. */
  sweep(): void;
  /**
   * Ends the connected session with this client ID, as a takeover would (MQTT 5: DISCONNECT 0x8E with
   * `reason`); false when there is none here. Another node's CONNECT with the ID asks for this.
   */
  endSessionByClientId(clientId: string, reason: string): boolean;
  /** Pushes to devices of this node (configurations, commands): src/core/device-link.ts. */
  readonly devices: DeviceLink;
}

/**
 * Session IDs: unique per process start (a random prefix) and cheap to hold; a UUID string per
 * connection costs hundreds of bytes in V8's heap.
 */
const SESSION_ID_PREFIX = randomUUID().slice(0, 8);
let sessionCounter = 0;
function nextSessionId(): string {
  return flat(`${SESSION_ID_PREFIX}-${(++sessionCounter).toString(36)}`);
}

/** How often keepalives and CONNECT timeouts are checked: one pass over all connections. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * The Kaa KPC front door: Tether's own MQTT 3.1, 3.1.1 and 5.0 server on mqtt-packet. Every device
 * PUBLISH is a 1/KP request to the platform, answered on `<topic>/status` or `<topic>/error`, and
 * never forwarded to other clients. Packet handling lives in packets/, one file per packet type.
 */
export function createMqttServer(deps: MqttServerDeps): MqttServer {
  const { services, bus, clientAuth } = deps;
  const logger = deps.logger.child({ component: 'mqtt' });
  const limits = withDefaultLimits({ ...deps.limits, ...(deps.connectTimeoutMs !== undefined && { connectTimeoutMs: deps.connectTimeoutMs }) });
  const clock = deps.clock ?? systemClock;
  const sessions = new SessionTable();
  const extensions = createExtensionSet(deps.extensions ?? [createEpmxExtension({ registry: services.registry })], deps.extensionInstances);
  const connections = new Set<Connection>();
  const channels = new Channels(logger);
  const lifetimes = new Set<Promise<void>>();
  const servers: net.Server[] = [];
  const counter = new ConnectionCounter(limits.maxConnections, limits.maxConnectionsPerIp);
  // Refused connections and malformed packets: one log line per interval, however many there are.
  const connectionLog = new LogThrottle(clock);
  let closed = false;

  const ctx: ServerContext = {
    services,
    logger,
    limits,
    clock,
    clientAuth,
    sessions,
    channels,
    subscriptions: new SubscriptionIndex(),
    clients: new Map<string, ClientState>(),
    live: new Map<string, Connection>(),
    requests: createRequestHandler({ services, extensions, sessions, channels, logger, limits, ...(clientAuth && { admit: clientAuth.admit }), ...(deps.storageFull && { storageFull: deps.storageFull }) }),
    pressure: new Pressure(limits.maxPendingRequests),
    refusals: new Refusals(limits, clock, logger),
    unacknowledgedLog: new LogThrottle(clock),
    entitlement: async (session, appVersionName, extensionInstance, token) => {
      const version = await services.applications.getVersion(appVersionName);
      if (!version.extensions.includes(extensionInstance)) throw errors.extensionNotEnabled(extensionInstance, version.name);
      // Remembered by the session like a request's token: a device subscribing to /status and
      // /error and then asking resolves (and hashes) its token once, not three times.
      let record = session.knownToken(version.applicationName, token);
      if (!record) {
        record = await services.credentials.resolveToken(version.applicationName, token);
        session.rememberToken(version.applicationName, token, record);
      }
      clientAuth?.admit(session.id, version.applicationName, record.endpointId);
      return record;
    },
    closing: () => closed,
    hooks: deps.hooks ?? {},
  };

  // --- one turn of the event loop for all connections: pumps, then writes ---------------
  let pumps: Connection[] = [];
  let flushes: Connection[] = [];
  let turnScheduled = false;
  const scheduleTurn = () => {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(runTurn);
  };
  function runTurn(): void {
    turnScheduled = false;
    const pumping = pumps;
    pumps = [];
    for (const connection of pumping) connection.pump();
    const flushing = flushes;
    flushes = [];
    for (const connection of flushing) connection.flush();
  }

  const host: ConnectionHost = {
    now: () => clock.now(),
    decoder: new PacketDecoder(),
    dispatch: (connection: Connection, packet: Packet) => dispatch(ctx, connection, packet),
    schedulePump: (connection) => {
      pumps.push(connection);
      scheduleTurn();
    },
    scheduleFlush: (connection) => {
      flushes.push(connection);
      scheduleTurn();
    },
    malformed: (connection, verdict) => {
      const err = verdict.kind === 'too-large' ? errors.packetTooLarge(limits.maxPacketSize) : errors.mqttPacketMalformed(verdict.problem);
      logRefusal(err, { clientId: connection.clientId || undefined, ...(verdict.kind === 'too-large' && { size: verdict.size }) }, 'connection closed');
      connection.end(verdict.kind === 'too-large' ? Reason.packetTooLarge : Reason.malformedPacket, err.message);
      // Nothing more is read from a stream that broke the rules.
      connection.destroy();
    },
    finished: (connection) => {
      connections.delete(connection);
      connection.releaseSlot?.();
      const lifetime = end(connection).catch((err: unknown) => logger.error({ err, sessionId: connection.session.id }, 'ending session failed'));
      lifetimes.add(lifetime);
      void lifetime.then(() => lifetimes.delete(lifetime));
    },
  };

  async function end(connection: Connection): Promise<void> {
    const { session } = connection;
    if (connection.client) ctx.hooks.sessionEnded?.(connection.clientId);
    sessions.remove(session);
    channels.close(session);
    ctx.pressure.forget(connection);
    clientAuth?.ended(session.id);
    releaseClientState(connection);
    logger.debug({ sessionId: session.id, clientId: connection.clientId }, 'session closed');
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

  /** A clean session's state ends with its connection; a persistent one waits for its device, within its expiry. */
  function releaseClientState(connection: Connection): void {
    const state = connection.client;
    if (ctx.live.get(connection.clientId) === connection) ctx.live.delete(connection.clientId);
    if (!state || ctx.clients.get(connection.clientId) !== state || state.carrier !== connection) return;
    if (connection.sessionExpirySeconds > 0 && !closed) {
      state.detach(clock.now() + connection.sessionExpirySeconds * 1000);
      return;
    }
    ctx.subscriptions.removeAll(state);
    ctx.clients.delete(connection.clientId);
  }

  // --- keepalive, CONNECT timeout, session expiry: one sweep for everything -----------------
  let sweeps = 0;
  function sweep(): void {
    const now = clock.now();
    for (const connection of connections) {
      if (connection.state === 'awaiting-connect' && now - connection.openedAt > limits.connectTimeoutMs) {
        connection.destroy();
      } else if (connection.state === 'connected' && connection.keepaliveMs > 0 && !connection.waitingOnServer && now - connection.lastReceivedAt > connection.keepaliveMs * 1.5) {
        // [MQTT-3.1.2-24] nothing received for one and a half keepalive periods.
        logger.debug({ clientId: connection.clientId, sessionId: connection.session.id }, 'keepalive expired');
        connection.end(Reason.keepAliveTimeout, 'nothing received within 1.5 keepalive periods');
      }
    }
    if (sweeps++ % 10 !== 0) return;
    for (const [clientId, state] of ctx.clients) {
      if (state.carrier === undefined && state.expiresAt <= now) {
        ctx.subscriptions.removeAll(state);
        ctx.clients.delete(clientId);
      }
    }
  }
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();

  // --- kicks: what other parts of Tether (or other nodes) decided --------------------------
  const unsubscribe = bus.subscribe((event) => onEvent(event));

  function onEvent(event: TetherEvent): void {
    if (event.type === 'token.status-changed' && (event.status === 'SUSPENDED' || event.status === 'REVOKED')) {
      const reason = `token ${event.status.toLowerCase()}`;
      for (const session of sessions.usingToken(event.tokenHash)) kick(session, reason);
      // Subscribed to the token's responses without publishing on it: the subscription ends too.
      for (const state of ctx.subscriptions.withToken(event.tokenHash)) endSubscriber(state, reason, (s) => s.tokenHash === event.tokenHash);
    } else if (event.type === 'endpoint.deleted') {
      for (const session of sessions.speakingFor(event.endpointId)) kick(session, 'endpoint deleted');
      for (const state of ctx.subscriptions.forEndpoint(event.endpointId)) endSubscriber(state, 'endpoint deleted', (s) => s.endpointId === event.endpointId);
    } else if (event.type === 'client-credential.changed' && clientAuth) {
      const ending = new Set(clientAuth.sessionsToEnd(event));
      if (ending.size === 0) return;
      for (const session of sessions.all()) if (ending.has(session.id)) kick(session, `client credential ${event.change}`);
    }
  }

  /** Operator actions end sessions: one log line each (their number follows the operator, not a device). */
  function kick(session: Session, reason: string): void {
    if (session.closed) return;
    logger.info({ sessionId: session.id, clientId: session.clientId, reason }, 'closing session');
    session.owner.end(Reason.administrativeAction, reason);
  }

  /** A connected subscriber is disconnected; a persistent session whose device is away loses those subscriptions. */
  function endSubscriber(state: ClientState, reason: string, matches: Parameters<SubscriptionIndex['removeWhere']>[1]): void {
    const connection = ctx.live.get(state.clientId);
    if (connection && connection.client === state) kick(connection.session, reason);
    ctx.subscriptions.removeWhere(state, matches);
  }

  function logRefusal(err: TetherError, fields: Record<string, unknown>, what: string): void {
    const held = connectionLog.pass();
    if (held === undefined) return;
    logger.warn({ code: err.code, status: err.status, ...fields, ...(held > 0 && { alsoRefused: held }) }, `${what}: ${err.message}`);
  }

  function handle(stream: Duplex): void {
    if (closed) {
      stream.on('error', () => {});
      stream.destroy();
      return;
    }
    // TLS and WebSocket transports attach their peer; a plain TCP socket knows its address.
    const peer = peerOf(stream);
    const remoteAddress = peer?.remoteAddress ?? (stream as Partial<net.Socket>).remoteAddress;
    const admitted = counter.admit(remoteAddress);
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
    const connection = new Connection(stream, nextSessionId(), peer, remoteAddress, host, limits.maxPacketSize);
    connection.releaseSlot = admitted.release;
    connections.add(connection);
    sessions.add(connection.session);
  }

  async function listen(port: number, host: string): Promise<number> {
    if (closed) throw new Error('MQTT server is closed');
    const server = net.createServer({ noDelay: true }, (socket) => handle(socket));
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
    clearInterval(sweeper);
    const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const connection of [...connections]) {
      if (connection.state === 'connected') connection.end(Reason.serverShuttingDown, 'server shutting down');
      else connection.destroy();
    }
    // Peers that do not close their side are cut (Connection.close gives them a moment).
    await Promise.all([...lifetimes]);
    await waitFor(() => connections.size === 0 && lifetimes.size === 0, 5000);
    await Promise.all([...lifetimes]);
    await Promise.all(stopped);
  }

  function endSessionByClientId(clientId: string, reason: string): boolean {
    const connection = ctx.live.get(clientId);
    if (!connection) return false;
    ctx.live.delete(clientId);
    logger.info({ clientId, sessionId: connection.session.id, reason }, 'closing session');
    connection.end(Reason.sessionTakenOver, reason);
    return true;
  }

  return { listen, handle, close, sessionCount: () => sessions.size, sweep, endSessionByClientId, devices: channels };
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

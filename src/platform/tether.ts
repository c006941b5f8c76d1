import { createServer as createNetServer } from 'node:net';
import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/index.js';
import type { EventBus } from '../bus/bus.js';
import { startMembership } from '../cluster/membership.js';
import { createSessionTakeover } from '../cluster/takeover.js';
import type { SessionTakeover } from '../cluster/takeover.js';
import { systemClock } from '../core/clock.js';
import { type TetherMetrics, createMetrics } from '../metrics/index.js';
import { opsPlugin } from '../ops/index.js';
import { createClientAuth, createMqttClientAuth } from '../client-auth/index.js';
import type { ClientAuthConfig, ClientAuthService } from '../client-auth/index.js';
import { TLS_FILE_SETTINGS } from '../config/load.js';
import type { TetherConfig } from '../config/types.js';
import { errors, isTetherError } from '../core/errors.js';
import { StorageFull } from '../core/storage-full.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import { createDashboard } from '../dashboard/server/index.js';
import { TimeSeriesService } from '../time-series/service.js';
import { createCexExtension, createCmxExtension, createDcxExtension, createEpmxExtension } from '../extensions/index.js';
import { type Control, createControl } from './control.js';
import { type Software, createSoftware } from './software.js';
import { createRollouts } from './rollouts.js';
import type { RolloutService } from '../rollouts/service.js';
import { CMX_OTA } from '../core/software.js';
import { createAccounts, type Accounts } from '../accounts/index.js';
import type { RegisteredRoute } from '../access/control.js';
import type { Storage } from '../storage/storage.js';
import { MQTT_WS_PATH, TlsCredentials, attachMqttWebSocket, createMqttServer, listenHttps, listenMqttTls } from '../transport/index.js';
import type { HttpsListening, Listening, TlsCertificateInfo } from '../transport/index.js';
import { resolveAdminApiKey } from './admin-key.js';
import { selectBackends } from './backends.js';
import { createLogger } from './logger.js';
import { quietDuringOutages } from '../core/outage-log.js';
import { createServices } from './services.js';
import { PackageService } from '../software/packages/index.js';

export interface RunningTether {
  /** Bound ports (the real ones when the config said 0). */
  mqttPort: number;
  httpPort: number;
  /** Present only when TLS is configured: MQTT over TLS, and HTTPS (dashboard, API, WSS). */
  mqttsPort?: number;
  httpsPort?: number;
  /** Path of MQTT over WebSocket on the HTTP (and HTTPS) port. */
  wsPath: string;
  host: string;
  dataDir: string;
  adminApiKey: string;
  /** True only on the start that generated the key: show it once. */
  adminApiKeyGenerated: boolean;
  /** Set only on the first start without TETHER_ADMIN_PASSWORD: show it once. */
  generatedAdminPassword?: string;
  services: Services;
  /** Users, API keys, audit log, metadata history (docs/accounts.md). */
  accounts: Accounts;
  /** Every HTTP route with its access rule (src/access/rules.ts), for the route-by-route role test. */
  routes(): RegisteredRoute[];
  storage: Storage;
  bus: EventBus;
  /** Kaa EPTS: time series definitions, data points, retention (docs/time-series.md). */
  timeSeries: TimeSeriesService;
  /** Configurations (Kaa ECR/CMX, 7/CMP) and commands (Kaa CEX, 11/CEP): docs/control.md. */
  control: Control;
  /** Software versions (Kaa OTAO) and what endpoints run, on cmx_ota: docs/software.md. */
  software: Software;
  /** Rollouts of software versions: rate, abort rule, pause/resume/cancel (docs/rollouts.md). */
  rollouts: RolloutService;
  /** Software package files: uploads, device downloads, signed URLs (docs/software.md). */
  packages: PackageService;
  /** This node's name among the nodes sharing a database (TETHER_NODE_ID). */
  nodeId: string;
  metrics: TetherMetrics;
  /** Effective MQTT client authentication (global mode and per-application modes). */
  clientAuthConfig: ClientAuthConfig;
  clientAuth: ClientAuthService;
  /**
   * SIGHUP: re-reads the TLS certificate, key and CA files; new connections use them, existing ones
   * go on. Resolves with the new certificate (undefined when TLS is not configured); rejects with a
   * one-line TetherError and keeps the previous certificate if the files are unusable.
   */
  reloadTls(): Promise<TlsCertificateInfo | undefined>;
  /** Graceful stop: stop accepting, end MQTT sessions, finish HTTP requests, flush storage. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Folder with the built SPA instead of dist/web of this package (the browser tests build their own). */
  dashboardWebRoot?: string;
}

/** What a package upload for a version that is not there hears (as a 404 naming the version). */
const MISSING_VERSION = new Set<string>([errors.softwareNotFound.code, errors.applicationNotFound.code]);

/** One step of the shutdown, registered as each part opens, run in reverse. */
type Closer = { name: string; close: () => Promise<void> | void };

/**
 * The composition root: wires storage, bus, services, the MQTT front door and the HTTP server
 * (REST API + dashboard) into one running Tether. A failure part-way closes what was opened.
 */
export async function startTether(config: TetherConfig, options: StartOptions = {}): Promise<RunningTether> {
  const logger = quietDuringOutages(options.logger ?? createLogger(config.logLevel), systemClock);
  const closers: Closer[] = [];
  try {
    // Checks first, writes after: a start that fails here leaves no half-initialised data
    // directory behind (whose admin key the next start would then never print).
    await checkPortsFree(config);
    await prepareDataDir(config.dataDir);
    const metrics = createMetrics(config.nodeId);
    const backends = selectBackends(config);

    const storage = await backends.storage.open({ onCommit: (batch) => metrics.storageCommit(batch) });
    closers.push({ name: 'storage', close: () => storage.close() });
    // A full disk: readyz, one log line per interval, and a probe write that notices space returning.
    const storageFull = new StorageFull({
      logger: logger.child({ component: 'storage' }),
      clock: systemClock,
      where: storage.kind === 'sqlite' ? config.dataDir : backends.storage.where,
      probe: () => storage.putSetting('storage-probe', systemClock.iso()),
    });
    closers.push({ name: 'storage full', close: () => storageFull.close() });
    metrics.storageFull(() => storageFull.full);
    const bus = countEvents(await backends.bus.open({ logger: logger.child({ part: 'bus' }), onRemoteEvent: (type) => metrics.busEvent(type, 'received') }), metrics);
    closers.push({ name: 'bus', close: () => bus.close() });

    // Several nodes share the database: connectivity records which node holds each session.
    const services = await createServices({ storage, bus, logger, limits: config.limits, ...(backends.storage.shared && { nodeId: config.nodeId }) });
    closers.push({ name: 'services', close: () => services.close() });
    metrics.connectedEndpoints(() => services.connectivity.localConnectedCount());
    if (backends.nodeLeases) {
      // Before MQTT listens: a node without a lease looks dead to the others.
      const membership = await startMembership({ nodeId: config.nodeId, leases: backends.nodeLeases.open(), storage, bus, clock: systemClock, logger });
      closers.push({ name: 'membership', close: () => membership.close() });
    }
    await services.applications.ensureDeclared(config.applications);

    // Closed before storage (reverse order): on SQLite they share its file and writer thread.
    const timeSeriesStorage = await backends.timeSeries.open();
    closers.push({ name: 'time series storage', close: () => timeSeriesStorage.close() });
    const timeSeries = new TimeSeriesService({
      storage: timeSeriesStorage,
      bus,
      applications: services.applications,
      registry: services.registry,
      logger,
      settings: {
        ...(config.timeSeries?.retentionDays !== undefined && { retentionDays: config.timeSeries.retentionDays }),
        declared: config.timeSeries?.declared ?? [],
        retentionByApp: config.timeSeries?.retentionByApp ?? {},
        ...(config.timeSeries?.maxSeriesPerEndpoint !== undefined && { maxSeriesPerEndpoint: config.timeSeries.maxSeriesPerEndpoint }),
      },
    });
    closers.push({ name: 'time series', close: () => timeSeries.close() });
    await timeSeries.start();

    // On SQLite control.db beside tether.db; on PostgreSQL tables in the database every node shares.
    const controlStore = await backends.control.open();
    closers.push({ name: 'control storage', close: () => controlStore.close() });
    const control = createControl({
      store: controlStore,
      storage,
      bus,
      services,
      logger,
      commandSettings: {
        ...(config.commands?.retentionDays !== undefined && { retentionMs: config.commands.retentionDays * 86_400_000 }),
        ...(config.commands?.defaultTtlSeconds !== undefined && { defaultTtlMs: config.commands.defaultTtlSeconds * 1000 }),
      },
    });
    closers.push({ name: 'control', close: () => control.close() });

    // On SQLite packages.db beside tether.db; on PostgreSQL tables every node serves from.
    const packageStore = await backends.packages.open();
    closers.push({ name: 'package storage', close: () => packageStore.close() });
    const packages = new PackageService({
      store: packageStore,
      settings: storage,
      // Packages belong to software versions; the software service is made just below (called later).
      versions: { exists: (applicationName, version) => software.service.get(applicationName, version).then(() => true, (err: unknown) => (isTetherError(err) && MISSING_VERSION.has(err.code) ? false : Promise.reject(err))) },
      credentials: services.credentials,
      bus,
      clock: systemClock,
      logger,
      ...(config.packages?.maxMb !== undefined && { maxBytes: config.packages.maxMb * 1024 * 1024 }),
      ...(config.packages?.urlTtlSeconds !== undefined && { urlTtlSeconds: config.packages.urlTtlSeconds }),
      ...(config.publicUrl !== undefined && { publicUrl: config.publicUrl }),
    });
    closers.push({ name: 'packages', close: () => packages.close() });

    // On SQLite software.db beside tether.db; on PostgreSQL tables in the database every node shares.
    const softwareStore = await backends.software.open();
    closers.push({ name: 'software storage', close: () => softwareStore.close() });
    // Package URLs in what devices get: the HTTP port is known once it listens.
    let httpBase = '';
    // A device gets a package URL on the address it reached (what else would it reach?), unless
    // Tether listens on one address only; TETHER_PUBLIC_URL, for proxies and names, wins over both.
    let listeningHttpPort = 0;
    const packageBase = (localAddress?: string) => (localAddress !== undefined && isWildcard(config.host) ? `http://${urlHost(localAddress)}:${listeningHttpPort}` : httpBase);
    const software = createSoftware({ store: softwareStore, bus, services, logger, baseUrl: packageBase, packages });
    closers.push({ name: 'software', close: () => software.close() });
    // On SQLite rollouts.db beside tether.db; on PostgreSQL tables every node shares (one node drives each rollout).
    const rolloutStore = await backends.rollouts.open();
    closers.push({ name: 'rollout storage', close: () => rolloutStore.close() });
    const rollouts = createRollouts({ store: rolloutStore, software: software.service, bus, services, logger, nodeId: config.nodeId });
    closers.push({ name: 'rollouts', close: () => rollouts.close() });

    const clientAuthConfig: ClientAuthConfig = config.clientAuth ?? { mode: 'anonymous' };
    if (usesX509(clientAuthConfig) && config.tls?.ca === undefined) {
      throw errors.configInvalid('clientAuth', 'x509 client authentication needs mutual TLS; set --tls-cert, --tls-key and --tls-ca (the CA that signs client certificates)');
    }
    const credentialStore = await backends.clientCredentials.open();
    closers.push({ name: 'client credentials', close: () => credentialStore.close() });
    const clientAuth = createClientAuth({ store: credentialStore, bus, applications: services.applications, registry: services.registry, config: clientAuthConfig, logger });
    closers.push({ name: 'client auth', close: () => clientAuth.close() });

    const admin = await resolveAdminApiKey(config.dataDir, config.adminApiKey);
    // On PostgreSQL every node shares users, API keys, sessions and the audit log (docs/operations.md).
    const accountStore = await backends.accounts.open();
    closers.push({ name: 'account storage', close: () => accountStore.close() });
    const accounts = await createAccounts({
      store: accountStore,
      bus,
      logger,
      ...(config.auditRetentionDays !== undefined && { auditRetentionDays: config.auditRetentionDays }),
    });
    closers.push({ name: 'accounts', close: () => accounts.close() });

    // TLS files are read before anything listens: a wrong path fails the start with one line.
    const tlsCredentials = config.tls ? await TlsCredentials.load(config.tls, TLS_FILE_SETTINGS, logger) : undefined;
    // Run after the MQTT core has ended the sessions they carry.
    let https: HttpsListening | undefined;
    let mqtts: Listening | undefined;
    const webSockets: Array<{ close(): void }> = [];
    closers.push({ name: 'https', close: () => https?.close() });
    closers.push({ name: 'mqtts', close: () => mqtts?.close() });
    closers.push({ name: 'websocket', close: () => webSockets.forEach((ws) => ws.close()) });

    // Registered before MQTT so that stop() ends device sessions first, then HTTP requests.
    let app: FastifyInstance | undefined;
    closers.push({ name: 'http', close: () => app?.close() });

    // Another node's CONNECT with a client ID ends the session it has here (src/cluster/takeover.ts);
    // with the in-process bus there is no other node, so nothing is published per connect.
    let takeover: SessionTakeover | undefined;
    const mqtt = createMqttServer({
      services,
      bus,
      logger,
      clientAuth: createMqttClientAuth(clientAuth, logger),
      limits: config.limits,
      storageFull,
      extensions: [
        createEpmxExtension({ registry: services.registry }),
        createDcxExtension({ sink: timeSeries }),
        createCmxExtension({ configurations: control.configurations }),
        createCexExtension({ commands: control.commands }),
        // 7/CMP again, for software versions: "no update" is {} (not configId ""), and Kaa's Python client's applied report carries `config`.
        createCmxExtension({ configurations: software.cmxOta, type: CMX_OTA, emptyWhenNone: true, appliedIgnores: ['config'] }),
      ],
      hooks: {
        sessionStarted: (clientId) => {
          metrics.sessionOpened();
          takeover?.onLocalSessionStarted(clientId);
        },
        sessionEnded: () => metrics.sessionClosed(),
        request: (extension, outcome) => metrics.request(extension, outcome),
        acknowledged: (seconds) => metrics.puback(seconds),
      },
    });
    if (backends.bus.shared) {
      const cluster = createSessionTakeover({ nodeId: config.nodeId, bus, clock: systemClock, logger, sessions: { endLocalSessionByClientId: (clientId, reason) => mqtt.endSessionByClientId(clientId, reason) } });
      takeover = cluster;
      closers.push({ name: 'takeover', close: () => cluster.close() });
    }
    closers.push({ name: 'mqtt', close: () => mqtt.close() });
    control.configurations.attach(mqtt.devices);
    control.commands.attach(mqtt.devices);
    software.service.attach(mqtt.devices);
    const mqttPort = await explainListenFailure(mqtt.listen(config.mqttPort, config.host), MQTT_LISTENER, config);
    // Takes over the running rollouts no live node drives (after a restart: all of them).
    rollouts.start();

    const dashboard = await createDashboard({
      storage,
      accounts,
      bus,
      logger,
      ...(config.adminPassword !== undefined ? { adminPassword: config.adminPassword } : {}),
      mqttPort: () => mqttPort,
      publicHost: () => config.host,
      secureCookies: false,
      ...(options.dashboardWebRoot !== undefined && { webRoot: options.dashboardWebRoot }),
    });
    closers.push({ name: 'dashboard', close: () => dashboard.close() });
    app = await createApiServer({
      services,
      storage,
      bus,
      logger,
      adminApiKey: admin.key,
      sessionVerifier: dashboard.sessionVerifier,
      storageFull,
      plugins: [opsPlugin({ nodeId: config.nodeId, storage, bus, metrics, storageFull, mqttPort: () => mqttPort }), dashboard.plugin],
      clientAuth,
      timeSeries,
      accounts,
      control,
      software: software.service,
      rollouts,
      packages,
      bodyLimit: config.limits.httpBodyLimit,
      tokenIssuePerMinute: config.limits.tokenIssuePerMinute,
    });
    // MQTT over WebSocket shares the HTTP port: upgrades on /ws go to the MQTT core, not to fastify.
    webSockets.push(attachMqttWebSocket({ server: app.server, handle: mqtt.handle, secure: false, logger }));
    await explainListenFailure(app.listen({ port: config.httpPort, host: config.host }), HTTP_LISTENER, config);
    const httpPort = boundPort(app);
    httpBase = `http://${publicHost(config.host)}:${httpPort}`;
    listeningHttpPort = httpPort;

    if (config.tls && tlsCredentials) {
      const tls = { credentials: tlsCredentials, host: config.host, logger };
      mqtts = await explainListenFailure(listenMqttTls({ ...tls, handle: mqtt.handle, port: config.tls.mqttPort }), MQTTS_LISTENER, config);
      // The same fastify app behind a second (HTTPS) server: app.routing is its request listener.
      https = await explainListenFailure(listenHttps({ ...tls, handler: app.routing, like: app.server, port: config.tls.httpsPort }), HTTPS_LISTENER, config);
      webSockets.push(attachMqttWebSocket({ server: https.server, handle: mqtt.handle, secure: true, logger }));
    }

    logger.info({ mqttPort, httpPort, mqttsPort: mqtts?.port, httpsPort: https?.port, host: config.host, dataDir: config.dataDir, storage: storage.kind, bus: bus.kind, node: config.nodeId }, 'tether started');

    let stopping: Promise<void> | undefined;
    const running: RunningTether = {
      mqttPort,
      httpPort,
      wsPath: MQTT_WS_PATH,
      host: config.host,
      dataDir: config.dataDir,
      adminApiKey: admin.key,
      adminApiKeyGenerated: admin.generated,
      services,
      accounts,
      routes: () => app!.accessControl.routes(),
      storage,
      bus,
      timeSeries,
      control,
      software,
      rollouts,
      packages,
      nodeId: config.nodeId,
      metrics,
      clientAuthConfig,
      clientAuth,
      reloadTls: async () => {
        if (!tlsCredentials) {
          logger.info({}, 'TLS is not configured: nothing to reload');
          return undefined;
        }
        return tlsCredentials.reload();
      },
      stop: () => (stopping ??= closeAll(closers, logger).then(() => logger.info({}, 'tether stopped'))),
    };
    if (dashboard.generatedAdminPassword !== undefined) running.generatedAdminPassword = dashboard.generatedAdminPassword;
    if (mqtts) running.mqttsPort = mqtts.port;
    if (https) running.httpsPort = https.port;
    return running;
  } catch (err) {
    await closeAll(closers, logger);
    throw err;
  }
}

function usesX509(config: ClientAuthConfig): boolean {
  return config.mode === 'x509' || Object.values(config.applications ?? {}).includes('x509');
}

/** A host devices can reach: a wildcard listen address is no address to give them. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function publicHost(host: string): string {
  return isWildcard(host) ? 'localhost' : urlHost(host);
}

/** An address as the host of a URL: IPv4-mapped IPv6 (`::ffff:10.0.0.5`) as IPv4, IPv6 in brackets. */
function urlHost(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  return address.includes(':') ? `[${address}]` : address;
}

function boundPort(app: FastifyInstance): number {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw errors.internal(new Error('HTTP server has no TCP address'));
  return address.port;
}

async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EEXIST' || code === 'ENOTDIR' ? 'it is not a directory' : `it cannot be created (${code ?? String(err)})`;
    throw errors.dataDirUnusable(dataDir, problem);
  }
}

/** Counts what this node publishes; the NATS bus counts what it receives from other nodes. */
function countEvents<B extends EventBus>(bus: B, metrics: TetherMetrics): B {
  const publish = bus.publish.bind(bus);
  bus.publish = (event) => {
    metrics.busEvent(event.type, 'published');
    return publish(event);
  };
  return bus;
}

interface Listener {
  what: string;
  flag: string;
  env: string;
  port: (config: TetherConfig) => number;
}

const MQTT_LISTENER: Listener = { what: 'MQTT', flag: '--mqtt-port', env: 'TETHER_MQTT_PORT', port: (c) => c.mqttPort };
const HTTP_LISTENER: Listener = { what: 'HTTP', flag: '--http-port', env: 'TETHER_HTTP_PORT', port: (c) => c.httpPort };
const MQTTS_LISTENER: Listener = { what: 'MQTT over TLS', flag: '--mqtts-port', env: 'TETHER_MQTTS_PORT', port: (c) => c.tls?.mqttPort ?? 0 };
const HTTPS_LISTENER: Listener = { what: 'HTTPS', flag: '--https-port', env: 'TETHER_HTTPS_PORT', port: (c) => c.tls?.httpsPort ?? 0 };

/**
 * Probes each fixed port by listening on it and closing again, before anything is written. The
 * real listen later still explains a port taken in the meantime; port 0 (any free port) is skipped.
 */
async function checkPortsFree(config: TetherConfig): Promise<void> {
  const listeners = config.tls ? [MQTT_LISTENER, HTTP_LISTENER, MQTTS_LISTENER, HTTPS_LISTENER] : [MQTT_LISTENER, HTTP_LISTENER];
  for (const listener of listeners) {
    const port = listener.port(config);
    if (port === 0) continue;
    await explainListenFailure(
      new Promise<void>((resolve, reject) => {
        const probe = createNetServer();
        probe.once('error', reject);
        probe.listen({ port, host: config.host, exclusive: true }, () => probe.close(() => resolve()));
      }),
      listener,
      config,
    );
  }
}

/** Turns the socket errors people actually hit into one line that says which setting to change. */
async function explainListenFailure<T>(listening: Promise<T>, listener: Listener, config: TetherConfig): Promise<T> {
  try {
    return await listening;
  } catch (err) {
    const code = findCode(err);
    const port = listener.port(config);
    const address = `${config.host}:${port}`;
    if (code === 'EADDRINUSE') throw errors.portInUse(listener.what, port, listener.flag, listener.env);
    if (code === 'EACCES') {
      throw errors.listenFailed(listener.what, address, 'permission denied (ports below 1024 need privileges)', `Start with ${listener.flag} <port> (or ${listener.env}).`);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw errors.listenFailed(listener.what, address, `${config.host} is not an address of this machine`, 'Start with --host <address> (or TETHER_HOST), e.g. 0.0.0.0.');
    }
    throw err;
  }
}

function findCode(err: unknown): string | undefined {
  for (let current = err, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

async function closeAll(closers: Closer[], logger: Logger): Promise<void> {
  // Reverse order of opening: MQTT sessions end first, then HTTP requests finish, then services,
  // bus, and storage last so every write the servers acknowledged is flushed before it closes.
  while (closers.length > 0) {
    const closer = closers.pop()!;
    try {
      await closer.close();
    } catch (err) {
      logger.error({ err, part: closer.name }, 'failed to close cleanly');
    }
  }
}

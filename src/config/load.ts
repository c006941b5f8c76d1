import os from 'node:os';
import path from 'node:path';
import { errors } from '../core/errors.js';
import { DEFAULT_LIMITS, LIMIT_MINIMUMS } from '../core/limits.js';
import type { LimitName, Limits } from '../core/limits.js';
import { parseApplications } from './applications.js';
import { CLIENT_AUTH_MODES } from '../client-auth/types.js';
import { parseClientAuthApplications } from './client-auth.js';
import { DEFAULTS, defaultApplications } from './defaults.js';
import { readConfigFile } from './file.js';
import { parseFlags } from './flags.js';
import { parseTimeSeriesConfig } from './time-series.js';
import { BUS_KINDS, LOG_LEVELS, SQLITE_SYNCHRONOUS, STORAGE_KINDS } from './types.js';
import type { TetherConfig, TlsConfig } from './types.js';
import { Invalid, filePath, host, limitValue, nodeId, nonEmptyPath, oneOf, port, secret, serviceUrl } from './values.js';
import type { Parser } from './values.js';

interface Setting<T> {
  flag?: string;
  env?: string;
  /** Dotted path in the config file, e.g. `storage.synchronous`. */
  fileKey?: string;
  parse: Parser<T>;
  /** Never echo the value in an error message. */
  secret?: boolean;
}

// Secrets have no flags: command lines are visible to every user of the machine (`ps`).
const SETTINGS = {
  host: { flag: 'host', env: 'TETHER_HOST', fileKey: 'host', parse: host },
  mqttPort: { flag: 'mqtt-port', env: 'TETHER_MQTT_PORT', fileKey: 'mqttPort', parse: port },
  httpPort: { flag: 'http-port', env: 'TETHER_HTTP_PORT', fileKey: 'httpPort', parse: port },
  dataDir: { flag: 'data-dir', env: 'TETHER_DATA_DIR', fileKey: 'dataDir', parse: nonEmptyPath },
  logLevel: { flag: 'log-level', env: 'TETHER_LOG_LEVEL', fileKey: 'logLevel', parse: oneOf(LOG_LEVELS) },
  adminApiKey: { env: 'TETHER_ADMIN_API_KEY', fileKey: 'adminApiKey', parse: secret('an API key', 16), secret: true },
  adminPassword: { env: 'TETHER_ADMIN_PASSWORD', fileKey: 'adminPassword', parse: secret('a password', 8), secret: true },
  storageKind: {
    flag: 'storage', env: 'TETHER_STORAGE', fileKey: 'storage.kind',
    parse: oneOf(STORAGE_KINDS, ' (postgres needs --database-url)'),
  },
  // Flags are visible in `ps`: put a password in TETHER_DATABASE_URL rather than on the command line.
  databaseUrl: {
    flag: 'database-url', env: 'TETHER_DATABASE_URL', fileKey: 'storage.url',
    parse: serviceUrl('PostgreSQL', ['postgres', 'postgresql'], 'postgres://tether:secret@db:5432/tether'), secret: true,
  },
  natsUrl: { flag: 'nats-url', env: 'TETHER_NATS_URL', fileKey: 'bus.url', parse: serviceUrl('NATS', ['nats', 'tls'], 'nats://nats:4222'), secret: true },
  nodeId: { flag: 'node-id', env: 'TETHER_NODE_ID', fileKey: 'nodeId', parse: nodeId },
  sqliteSynchronous: {
    flag: 'sqlite-synchronous', env: 'TETHER_SQLITE_SYNCHRONOUS', fileKey: 'storage.synchronous',
    parse: oneOf(SQLITE_SYNCHRONOUS, ' (full keeps every acknowledged write through a power loss)'),
  },
  busKind: { flag: 'bus', env: 'TETHER_BUS', fileKey: 'bus.kind', parse: oneOf(BUS_KINDS, ' (nats needs --nats-url)') },
  clientAuthMode: { flag: 'client-auth', env: 'TETHER_CLIENT_AUTH', fileKey: 'clientAuth.mode', parse: oneOf(CLIENT_AUTH_MODES) },
  tlsCert: { flag: 'tls-cert', env: 'TETHER_TLS_CERT', fileKey: 'tls.cert', parse: filePath },
  tlsKey: { flag: 'tls-key', env: 'TETHER_TLS_KEY', fileKey: 'tls.key', parse: filePath },
  tlsCa: { flag: 'tls-ca', env: 'TETHER_TLS_CA', fileKey: 'tls.ca', parse: filePath },
  mqttsPort: { flag: 'mqtts-port', env: 'TETHER_MQTTS_PORT', fileKey: 'tls.mqttPort', parse: port },
  httpsPort: { flag: 'https-port', env: 'TETHER_HTTPS_PORT', fileKey: 'tls.httpsPort', parse: port },
  auditRetentionDays: { env: 'TETHER_AUDIT_RETENTION_DAYS', fileKey: 'auditRetentionDays', parse: limitValue(1, false) },
} satisfies Record<string, Setting<unknown>>;

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as LimitName[];

/** `maxPacketSize` -> `TETHER_LIMITS_MAX_PACKET_SIZE`: the file key and the variable name say the same. */
export function limitEnvName(name: LimitName): string {
  return `TETHER_LIMITS_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const LIMIT_SETTINGS = Object.fromEntries(
  LIMIT_NAMES.map((name) => [
    name,
    { env: limitEnvName(name), fileKey: `limits.${name}`, parse: limitValue(LIMIT_MINIMUMS[name], name === 'publishRate') },
  ]),
) as Record<LimitName, Setting<number>>;

const FILE_KEYS: Record<string, string[]> = {
  '': ['host', 'mqttPort', 'httpPort', 'dataDir', 'logLevel', 'adminApiKey', 'adminPassword', 'storage', 'bus', 'nodeId', 'applications', 'clientAuth', 'tls', 'limits', 'kaa', 'timeSeries', 'auditRetentionDays'],
  limits: LIMIT_NAMES,
  storage: ['kind', 'synchronous', 'url'],
  bus: ['kind', 'url'],
  clientAuth: ['mode', 'applications'],
  tls: ['cert', 'key', 'ca', 'mqttPort', 'httpsPort'],
};

/** How each TLS file is set, for messages about the files themselves (read at start and on SIGHUP). */
export const TLS_FILE_SETTINGS = {
  cert: { flag: '--tls-cert', env: 'TETHER_TLS_CERT' },
  key: { flag: '--tls-key', env: 'TETHER_TLS_KEY' },
  ca: { flag: '--tls-ca', env: 'TETHER_TLS_CA' },
} as const;

export const CONFIG_FLAGS = {
  config: { type: 'string' },
  host: { type: 'string' },
  'mqtt-port': { type: 'string' },
  'http-port': { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  storage: { type: 'string' },
  'sqlite-synchronous': { type: 'string' },
  bus: { type: 'string' },
  'database-url': { type: 'string' },
  'nats-url': { type: 'string' },
  'node-id': { type: 'string' },
  'client-auth': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'mqtts-port': { type: 'string' },
  'https-port': { type: 'string' },
} as const;

/** Help lines for `tether start --help`, kept next to the settings they describe. */
export const CONFIG_HELP = `Options (flag / environment variable / config file key; flags win over environment, environment over file):
  --config <file>              TETHER_CONFIG              YAML or JSON config file
  --host <address>             TETHER_HOST                host       bind address (default ${DEFAULTS.host})
  --mqtt-port <port>           TETHER_MQTT_PORT           mqttPort   MQTT (1/KP) port (default ${DEFAULTS.mqttPort}; 0 = any free port)
  --http-port <port>           TETHER_HTTP_PORT           httpPort   dashboard, REST API and MQTT over WebSocket (/ws) port (default ${DEFAULTS.httpPort}; 0 = any free port)
  --data-dir <dir>             TETHER_DATA_DIR            dataDir    where the database and admin API key live (default ${DEFAULTS.dataDir})
  --log-level <level>          TETHER_LOG_LEVEL           logLevel   ${LOG_LEVELS.join(' | ')} (default ${DEFAULTS.logLevel})
  --storage <kind>             TETHER_STORAGE             storage.kind          ${STORAGE_KINDS.join(' | ')} (default ${DEFAULTS.storageKind})
  --sqlite-synchronous <mode>  TETHER_SQLITE_SYNCHRONOUS  storage.synchronous   ${SQLITE_SYNCHRONOUS.join(' | ')} (default ${DEFAULTS.sqliteSynchronous})
  --bus <kind>                 TETHER_BUS                 bus.kind              ${BUS_KINDS.join(' | ')} (default ${DEFAULTS.busKind})
  --database-url <url>         TETHER_DATABASE_URL        storage.url   postgres://user:password@host:5432/db: PostgreSQL shared by several nodes (default: embedded SQLite)
  --nats-url <url>             TETHER_NATS_URL            bus.url       nats://host:4222: NATS between nodes (default: in-process bus)
  --node-id <id>               TETHER_NODE_ID             nodeId        this node's name in a cluster (default <hostname>-<mqtt port>; see docs/operations.md)
  --client-auth <mode>         TETHER_CLIENT_AUTH         clientAuth.mode       ${CLIENT_AUTH_MODES.join(' | ')} (default anonymous): what MQTT clients need at CONNECT
                                                          clientAuth.applications  per application, e.g. { smart_meters: x509 } (see docs/security.md)
  --tls-cert <file>            TETHER_TLS_CERT            tls.cert      PEM certificate (chain); with --tls-key turns on MQTT over TLS and HTTPS
  --tls-key <file>             TETHER_TLS_KEY             tls.key       PEM private key of the certificate (unencrypted)
  --tls-ca <file>              TETHER_TLS_CA              tls.ca        PEM CA bundle: clients are asked for a certificate signed by it (mutual TLS)
  --mqtts-port <port>          TETHER_MQTTS_PORT          tls.mqttPort  MQTT over TLS port (default ${DEFAULTS.mqttsPort})
  --https-port <port>          TETHER_HTTPS_PORT          tls.httpsPort dashboard, REST API and MQTT over WebSocket (/ws) over TLS (default ${DEFAULTS.httpsPort})
                               The TLS files are read again on SIGHUP (new connections get the new certificate).
                               TETHER_ADMIN_API_KEY       adminApiKey   REST API key (default: generated once, kept in <data-dir>/admin-api-key)
                               TETHER_ADMIN_PASSWORD      adminPassword the admin's password on the FIRST start only (later: npx tether admin reset-password)
                               TETHER_AUDIT_RETENTION_DAYS auditRetentionDays days audit entries and metadata history are kept (default 90)
  Limits (environment variable / config file key; see docs/security.md):
${LIMIT_NAMES.map((name) => `                               ${limitEnvName(name).padEnd(42)} limits.${name} (default ${DEFAULT_LIMITS[name]})`).join('\n')}
  The config file may also declare applications (merged with the default demo_application):
    applications:
      - name: smart_meters
        versions:
          - name: smart_meters_v1
            extensions: [epmx]
            metadataKeyAccess: { serial: read-only }`;

type Source = { kind: 'flag'; raw: string } | { kind: 'env'; raw: string } | { kind: 'file'; raw: unknown };

/**
 * Builds the configuration from command-line flags (the arguments after `tether start`), the
 * environment and an optional config file. Precedence: flags > environment > file > defaults.
 * Rejects with a one-line CONFIG_INVALID TetherError naming the flag, variable or file key.
 */
export async function loadConfig(argv: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<TetherConfig> {
  const cwd = options.cwd ?? process.cwd();
  const { values: flags } = parseFlags(argv, CONFIG_FLAGS, { usage: 'see tether start --help' });
  const envValue = (name: string): string | undefined => {
    const value = env[name];
    // An empty variable (`TETHER_HOST=`) means "not set", as in most shells' habits.
    return value === undefined || value === '' ? undefined : value;
  };

  let configFile: string | undefined;
  let file: Record<string, unknown> = {};
  const fileFlag = flags.config;
  const fileEnv = envValue('TETHER_CONFIG');
  if (fileFlag !== undefined || fileEnv !== undefined) {
    configFile = path.resolve(cwd, (fileFlag ?? fileEnv)!);
    file = await readConfigFile(configFile, fileFlag !== undefined ? '--config' : 'TETHER_CONFIG');
    checkFileKeys(file, configFile);
  }

  const sourceOf = (setting: Setting<unknown>): Source | undefined => {
    const flag = setting.flag !== undefined ? (flags as Record<string, string | undefined>)[setting.flag] : undefined;
    if (flag !== undefined) return { kind: 'flag', raw: flag };
    const fromEnv = setting.env !== undefined ? envValue(setting.env) : undefined;
    if (fromEnv !== undefined) return { kind: 'env', raw: fromEnv };
    if (setting.fileKey !== undefined) {
      const raw = fileValue(file, setting.fileKey);
      if (raw !== undefined && raw !== null) return { kind: 'file', raw };
    }
    return undefined;
  };

  function resolve<T>(setting: Setting<T>, fallback: T): T;
  function resolve<T>(setting: Setting<T>): T | undefined;
  function resolve<T>(setting: Setting<T>, fallback?: T): T | undefined {
    const source = sourceOf(setting);
    if (source === undefined) return fallback;
    try {
      return setting.parse(source.raw);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      const shown = setting.secret === true ? '' : ` ${JSON.stringify(source.raw)}`;
      const label =
        source.kind === 'flag' ? `--${setting.flag}${shown}`
        : source.kind === 'env' ? `${setting.env}${shown}`
        : `${setting.fileKey}${shown} in ${configFile}`;
      throw errors.configInvalid(label, err.message);
    }
  }

  // Relative data dirs in the file are relative to the file, so the file can be moved with its data.
  const dataDirSource = sourceOf(SETTINGS.dataDir);
  const dataDirBase = dataDirSource?.kind === 'file' && configFile !== undefined ? path.dirname(configFile) : cwd;

  let applications = defaultApplications();
  if (file['applications'] !== undefined) {
    try {
      applications = parseApplications(file['applications'], applications);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      throw errors.configInvalid(`config file ${configFile}`, err.message);
    }
  }

  let timeSeries;
  try {
    timeSeries = parseTimeSeriesConfig(file['kaa'], file['timeSeries']);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    throw errors.configInvalid(`config file ${configFile}`, err.message);
  }

  // Relative TLS file paths in the config file are relative to the file too.
  const filePathOf = (setting: Setting<string>): string | undefined => {
    const value = resolve(setting);
    if (value === undefined) return undefined;
    return path.resolve(sourceOf(setting)?.kind === 'file' && configFile !== undefined ? path.dirname(configFile) : cwd, value);
  };

  // TLS is off unless both a certificate and a key are given: the first start stays plain MQTT.
  function resolveTls(): TlsConfig | undefined {
    const cert = filePathOf(SETTINGS.tlsCert);
    const key = filePathOf(SETTINGS.tlsKey);
    if (cert === undefined || key === undefined) {
      const given = [SETTINGS.tlsCert, SETTINGS.tlsKey, SETTINGS.tlsCa, SETTINGS.mqttsPort, SETTINGS.httpsPort].find((s) => sourceOf(s) !== undefined);
      if (given === undefined) return undefined;
      throw errors.configInvalid(`--${given.flag}`, 'TLS needs both a certificate and a key; add --tls-cert <file> and --tls-key <file> (or TETHER_TLS_CERT/TETHER_TLS_KEY, or tls.cert/tls.key in the config file)');
    }
    const tls: TlsConfig = { cert, key, mqttPort: resolve(SETTINGS.mqttsPort, DEFAULTS.mqttsPort), httpsPort: resolve(SETTINGS.httpsPort, DEFAULTS.httpsPort) };
    const ca = filePathOf(SETTINGS.tlsCa);
    if (ca !== undefined) tls.ca = ca;
    const ports: Array<[string, number]> = [['--mqtt-port', config.mqttPort], ['--http-port', config.httpPort], ['--mqtts-port', tls.mqttPort], ['--https-port', tls.httpsPort]];
    for (const [i, [flagA, a]] of ports.entries()) {
      const clash = ports.slice(i + 1).find(([, b]) => a !== 0 && a === b);
      if (clash !== undefined) throw errors.configInvalid('ports', `${flagA} and ${clash[0]} cannot both use port ${a}; change one of them`);
    }
    return tls;
  }

  // A URL alone selects the backend; naming the backend without its URL is a mistake worth one line.
  function resolveStorage(): TetherConfig['storage'] {
    const synchronous = resolve(SETTINGS.sqliteSynchronous, DEFAULTS.sqliteSynchronous);
    const url = resolve(SETTINGS.databaseUrl);
    const kind = resolve(SETTINGS.storageKind) ?? (url !== undefined ? 'postgres' : DEFAULTS.storageKind);
    if (kind === 'sqlite') return { kind, synchronous };
    if (url === undefined) throw errors.configInvalid('storage postgres', 'it needs --database-url <postgres://…> (or TETHER_DATABASE_URL)');
    return { kind, synchronous, url };
  }
  function resolveBus(): TetherConfig['bus'] {
    const url = resolve(SETTINGS.natsUrl);
    const kind = resolve(SETTINGS.busKind) ?? (url !== undefined ? 'nats' : DEFAULTS.busKind);
    if (kind === 'memory') return { kind };
    if (url === undefined) throw errors.configInvalid('bus nats', 'it needs --nats-url <nats://…> (or TETHER_NATS_URL)');
    return { kind, url };
  }

  const config: TetherConfig = {
    host: resolve(SETTINGS.host, DEFAULTS.host),
    mqttPort: resolve(SETTINGS.mqttPort, DEFAULTS.mqttPort),
    httpPort: resolve(SETTINGS.httpPort, DEFAULTS.httpPort),
    dataDir: path.resolve(dataDirBase, resolve(SETTINGS.dataDir, DEFAULTS.dataDir)),
    logLevel: resolve(SETTINGS.logLevel, DEFAULTS.logLevel),
    storage: resolveStorage(),
    bus: resolveBus(),
    nodeId: resolve(SETTINGS.nodeId) ?? defaultNodeId(resolve(SETTINGS.mqttPort, DEFAULTS.mqttPort)),
    limits: Object.fromEntries(LIMIT_NAMES.map((name) => [name, resolve(LIMIT_SETTINGS[name], DEFAULT_LIMITS[name])])) as unknown as Limits,
    applications,
  };
  if (file['kaa'] !== undefined || file['timeSeries'] !== undefined) config.timeSeries = timeSeries;
  const adminApiKey = resolve(SETTINGS.adminApiKey);
  if (adminApiKey !== undefined) config.adminApiKey = adminApiKey;
  const adminPassword = resolve(SETTINGS.adminPassword);
  if (adminPassword !== undefined) config.adminPassword = adminPassword;
  const auditRetentionDays = resolve(SETTINGS.auditRetentionDays);
  if (auditRetentionDays !== undefined) config.auditRetentionDays = auditRetentionDays;
  if (configFile !== undefined) config.configFile = configFile;
  // Left out when nothing is set: absent means anonymous (the platform's default).
  const clientAuthMode = resolve(SETTINGS.clientAuthMode);
  const clientAuthApps = fileValue(file, 'clientAuth.applications');
  if (clientAuthMode !== undefined || (clientAuthApps !== undefined && clientAuthApps !== null)) {
    config.clientAuth = { mode: clientAuthMode ?? 'anonymous' };
    if (clientAuthApps !== undefined && clientAuthApps !== null) {
      try {
        config.clientAuth.applications = parseClientAuthApplications(clientAuthApps);
      } catch (err) {
        if (!(err instanceof Invalid)) throw err;
        throw errors.configInvalid(`config file ${configFile}`, err.message);
      }
    }
  }
  if (config.mqttPort !== 0 && config.mqttPort === config.httpPort) {
    throw errors.configInvalid(`ports`, `MQTT and HTTP cannot both use port ${config.mqttPort}; change --mqtt-port or --http-port`);
  }
  const tls = resolveTls();
  if (tls !== undefined) config.tls = tls;
  return config;
}

function fileValue(file: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = file;
  for (const part of dotted.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function checkFileKeys(file: Record<string, unknown>, configFile: string): void {
  for (const [section, allowed] of Object.entries(FILE_KEYS)) {
    const value = section === '' ? file : file[section];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw errors.configInvalid(`${section} in ${configFile}`, `it must be a mapping with keys ${allowed.join(', ')}`);
    }
    const unknown = Object.keys(value).find((key) => !allowed.includes(key));
    if (unknown !== undefined) {
      const name = section === '' ? unknown : `${section}.${unknown}`;
      throw errors.configInvalid(`key ${name} in ${configFile}`, `there is no such setting; allowed: ${allowed.join(', ')}`);
    }
  }
}

/**
 * The default node ID: stable across restarts of the same node (a restarting node resets only the
 * sessions recorded under its own ID), and different for two nodes on one host, which cannot share
 * an MQTT port. Port 0 (tests) has no stable port: the process ID stands in.
 */
function defaultNodeId(mqttPort: number): string {
  const hostPart = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48) || 'tether';
  return `${hostPart}-${mqttPort === 0 ? `pid${process.pid}` : mqttPort}`;
}

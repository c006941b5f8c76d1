import path from 'node:path';
import { DEFAULT_LIMITS, LIMIT_MINIMUMS } from '../core/limits.js';
import type { LimitName } from '../core/limits.js';
import { CLIENT_AUTH_MODES } from '../client-auth/types.js';
import { DEFAULTS } from './defaults.js';
import { BUS_KINDS, LOG_LEVELS, SQLITE_SYNCHRONOUS, STORAGE_KINDS } from './types.js';
import { filePath, host, httpUrl, limitValue, nodeId, nonEmptyPath, oneOf, port, secret, serviceUrl } from './values.js';
import type { Parser } from './values.js';

/**
 * One declaration per setting: the flag, the environment variable, the config file key and the
 * help line of `tether start --help` are all derived from it, so a new setting is one entry here.
 */
export interface Setting<T> {
  /** `mqtt-port`: the flag is `--mqtt-port` (when `flag` is not false), the variable `TETHER_MQTT_PORT`. */
  name: string;
  /** Secrets have no flag: command lines are visible to every user of the machine (`ps`). */
  flag?: false;
  /** Shown after the flag in the help, e.g. `<port>`. */
  arg?: string;
  /** Dotted path in the config file, e.g. `storage.synchronous`. */
  fileKey: string;
  parse: Parser<T>;
  /** Never echo the value in an error message. */
  secret?: boolean;
  help: string;
}

/** What the rest of the loader reads: the derived names, filled in once. */
export interface ResolvedSetting<T> extends Setting<T> {
  flagName?: string;
  env: string;
}

export const envName = (name: string): string => `TETHER_${name.replace(/-/g, '_').toUpperCase()}`;

function setting<T>(setting: Setting<T>): ResolvedSetting<T> {
  const resolved: ResolvedSetting<T> = { ...setting, env: envName(setting.name) };
  if (setting.flag !== false) resolved.flagName = setting.name;
  return resolved;
}

// The order here is the order of the help text.
export const SETTINGS = {
  host: setting({ name: 'host', arg: '<address>', fileKey: 'host', parse: host, help: `bind address (default ${DEFAULTS.host})` }),
  mqttPort: setting({ name: 'mqtt-port', arg: '<port>', fileKey: 'mqttPort', parse: port, help: `MQTT (1/KP) port (default ${DEFAULTS.mqttPort}; 0 = any free port)` }),
  httpPort: setting({
    name: 'http-port', arg: '<port>', fileKey: 'httpPort', parse: port,
    help: `dashboard, REST API and MQTT over WebSocket (/ws) port (default ${DEFAULTS.httpPort}; 0 = any free port)`,
  }),
  dataDir: setting({ name: 'data-dir', arg: '<dir>', fileKey: 'dataDir', parse: nonEmptyPath, help: `where the database and admin API key live (default ${DEFAULTS.dataDir})` }),
  logLevel: setting({ name: 'log-level', arg: '<level>', fileKey: 'logLevel', parse: oneOf(LOG_LEVELS), help: `${LOG_LEVELS.join(' | ')} (default ${DEFAULTS.logLevel})` }),
  storageKind: setting({
    name: 'storage', arg: '<kind>', fileKey: 'storage.kind', parse: oneOf(STORAGE_KINDS, ' (postgres needs --database-url)'),
    help: `${STORAGE_KINDS.join(' | ')} (default ${DEFAULTS.storageKind})`,
  }),
  sqliteSynchronous: setting({
    name: 'sqlite-synchronous', arg: '<mode>', fileKey: 'storage.synchronous',
    parse: oneOf(SQLITE_SYNCHRONOUS, ' (full keeps every acknowledged write through a power loss)'),
    help: `${SQLITE_SYNCHRONOUS.join(' | ')} (default ${DEFAULTS.sqliteSynchronous})`,
  }),
  busKind: setting({ name: 'bus', arg: '<kind>', fileKey: 'bus.kind', parse: oneOf(BUS_KINDS, ' (nats needs --nats-url)'), help: `${BUS_KINDS.join(' | ')} (default ${DEFAULTS.busKind})` }),
  // A flag is visible in `ps`: the help says to put a password in TETHER_DATABASE_URL instead.
  databaseUrl: setting({
    name: 'database-url', arg: '<url>', fileKey: 'storage.url', secret: true,
    parse: serviceUrl('PostgreSQL', ['postgres', 'postgresql'], 'postgres://tether:secret@db:5432/tether'),
    help: 'postgres://user:password@host:5432/db: PostgreSQL shared by several nodes (default: embedded SQLite)',
  }),
  natsUrl: setting({
    name: 'nats-url', arg: '<url>', fileKey: 'bus.url', secret: true, parse: serviceUrl('NATS', ['nats', 'tls'], 'nats://nats:4222'),
    help: 'nats://host:4222: NATS between nodes (default: in-process bus)',
  }),
  nodeId: setting({
    name: 'node-id', arg: '<id>', fileKey: 'nodeId', parse: nodeId,
    help: "this node's name in a cluster (default <hostname>-<mqtt port>; see docs/operations.md)",
  }),
  clientAuthMode: setting({
    name: 'client-auth', arg: '<mode>', fileKey: 'clientAuth.mode', parse: oneOf(CLIENT_AUTH_MODES),
    help: `${CLIENT_AUTH_MODES.join(' | ')} (default anonymous): what MQTT clients need at CONNECT`,
  }),
  tlsCert: setting({ name: 'tls-cert', arg: '<file>', fileKey: 'tls.cert', parse: filePath, help: 'PEM certificate (chain); with --tls-key turns on MQTT over TLS and HTTPS' }),
  tlsKey: setting({ name: 'tls-key', arg: '<file>', fileKey: 'tls.key', parse: filePath, help: 'PEM private key of the certificate (unencrypted)' }),
  tlsCa: setting({ name: 'tls-ca', arg: '<file>', fileKey: 'tls.ca', parse: filePath, help: 'PEM CA bundle: clients are asked for a certificate signed by it (mutual TLS)' }),
  mqttsPort: setting({ name: 'mqtts-port', arg: '<port>', fileKey: 'tls.mqttPort', parse: port, help: `MQTT over TLS port (default ${DEFAULTS.mqttsPort})` }),
  httpsPort: setting({
    name: 'https-port', arg: '<port>', fileKey: 'tls.httpsPort', parse: port,
    help: `dashboard, REST API and MQTT over WebSocket (/ws) over TLS (default ${DEFAULTS.httpsPort})`,
  }),
  adminApiKey: setting({
    name: 'admin-api-key', flag: false, fileKey: 'adminApiKey', parse: secret('an API key', 16), secret: true,
    help: 'REST API key (default: generated once, kept in <data-dir>/admin-api-key)',
  }),
  adminPassword: setting({
    name: 'admin-password', flag: false, fileKey: 'adminPassword', parse: secret('a password', 8), secret: true,
    help: "the admin's password on the FIRST start only (later: npx tether admin reset-password)",
  }),
  auditRetentionDays: setting({
    name: 'audit-retention-days', flag: false, fileKey: 'auditRetentionDays', parse: limitValue(1, false),
    help: 'days audit entries and metadata history are kept (default 90)',
  }),
  commandRetentionDays: setting({
    name: 'command-retention-days', flag: false, fileKey: 'commands.retentionDays', parse: limitValue(1, false),
    help: 'days finished commands and their results are kept (default 7)',
  }),
  commandTtlSeconds: setting({
    name: 'command-ttl-seconds', flag: false, fileKey: 'commands.defaultTtlSeconds', parse: limitValue(1, false),
    help: 'seconds a command waits for its device when the sender names no commandTtl (default 60)',
  }),
  packageMaxMb: setting({
    name: 'package-max-mb', flag: false, fileKey: 'packages.maxMb', parse: limitValue(1, false),
    help: 'largest software package an upload may store, in MB (default 512)',
  }),
  packageUrlTtlSeconds: setting({
    name: 'package-url-ttl-seconds', flag: false, fileKey: 'packages.urlTtlSeconds', parse: limitValue(60, false),
    help: 'seconds the signed package URL a device gets on cmx_ota stays valid (default 86400)',
  }),
  publicUrl: setting({
    name: 'public-url', arg: '<url>', fileKey: 'publicUrl', parse: httpUrl,
    help: "how devices reach this server's HTTP(S), e.g. https://tether.example.com: the base of package URLs (default: http://<the address the device reached>:<http port>)",
  }),
};

/** Config file keys that are not single values: sections parsed by their own modules. */
const STRUCTURED_FILE_KEYS = ['applications', 'clientAuth.applications', 'kaa', 'timeSeries'];

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as LimitName[];

/** `maxPacketSize` -> `TETHER_LIMITS_MAX_PACKET_SIZE`: the file key and the variable name say the same. */
export function limitEnvName(name: LimitName): string {
  return envName(`limits-${name.replace(/[A-Z]/g, (c) => `-${c}`)}`);
}

export const LIMIT_SETTINGS = Object.fromEntries(
  LIMIT_NAMES.map((name) => [
    name,
    { name, flag: false, env: limitEnvName(name), fileKey: `limits.${name}`, parse: limitValue(LIMIT_MINIMUMS[name], name === 'publishRate'), help: `(default ${DEFAULT_LIMITS[name]})` },
  ]),
) as Record<LimitName, ResolvedSetting<number>>;

const allSettings: ResolvedSetting<unknown>[] = [...Object.values(SETTINGS), ...Object.values(LIMIT_SETTINGS)];

/** Allowed keys per config file section ('' is the top level), in declaration order. */
export const FILE_KEYS: Record<string, string[]> = {};
for (const dotted of [...allSettings.map((s) => s.fileKey), ...STRUCTURED_FILE_KEYS]) {
  const parts = dotted.split('.');
  const section = parts.length > 1 ? parts[0]! : '';
  const key = parts.length > 1 ? parts[1]! : parts[0]!;
  for (const [s, k] of [['', parts[0]!], [section, key]] as const) {
    const keys = (FILE_KEYS[s] ??= []);
    if (!keys.includes(k)) keys.push(k);
  }
}

/** The flags `tether start` accepts: `--config` and one per setting that has a flag. */
export const CONFIG_FLAGS = Object.fromEntries([
  ['config', { type: 'string' }],
  ...Object.values(SETTINGS).flatMap((s) => (s.flagName === undefined ? [] : [[s.flagName, { type: 'string' }]])),
]) as Record<string, { type: 'string' }>;

/** How each TLS file is set, for messages about the files themselves (read at start and on SIGHUP). */
export const TLS_FILE_SETTINGS = {
  cert: { flag: `--${SETTINGS.tlsCert.flagName!}`, env: SETTINGS.tlsCert.env },
  key: { flag: `--${SETTINGS.tlsKey.flagName!}`, env: SETTINGS.tlsKey.env },
  ca: { flag: `--${SETTINGS.tlsCa.flagName!}`, env: SETTINGS.tlsCa.env },
} as const;

const flagText = (s: ResolvedSetting<unknown>): string => (s.flagName === undefined ? '' : `--${s.flagName} ${s.arg ?? '<value>'}`);
const settingList = Object.values(SETTINGS) as ResolvedSetting<unknown>[];
// Column widths follow the longest entry, so a new setting never needs the others realigned.
const FLAG_WIDTH = Math.max(...settingList.map((s) => flagText(s).length)) + 2;
const ENV_WIDTH = Math.max(...settingList.map((s) => s.env.length)) + 2;
const KEY_WIDTH = Math.max(...settingList.map((s) => s.fileKey.length)) + 2;
const column = (flag: string, env: string, fileKey: string, text: string): string =>
  `  ${flag.padEnd(FLAG_WIDTH)}${env.padEnd(ENV_WIDTH)}${fileKey === '' ? '' : fileKey.padEnd(KEY_WIDTH)}${text}`;

/** A line under the environment column (`under: 'env'`) or the file key column. */
const note = (under: 'env' | 'fileKey', text: string): string => `${''.padEnd(2 + FLAG_WIDTH + (under === 'env' ? 0 : ENV_WIDTH))}${text}`;

/** Help lines printed after a setting's own line. */
const HELP_NOTES: Partial<Record<keyof typeof SETTINGS, string[]>> = {
  clientAuthMode: [note('fileKey', 'clientAuth.applications  per application, e.g. { smart_meters: x509 } (see docs/security.md)')],
  httpsPort: [note('env', 'The TLS files are read again on SIGHUP (new connections get the new certificate).')],
};

/** Help lines for `tether start --help`. */
export const CONFIG_HELP = [
  'Options (flag / environment variable / config file key; flags win over environment, environment over file):',
  column('--config <file>', 'TETHER_CONFIG', ''.padEnd(KEY_WIDTH), 'YAML or JSON config file'),
  ...(Object.entries(SETTINGS) as Array<[keyof typeof SETTINGS, ResolvedSetting<unknown>]>).flatMap(([key, s]) => [
    column(flagText(s), s.env, s.fileKey, s.help),
    ...(HELP_NOTES[key] ?? []),
  ]),
  '  Limits (environment variable / config file key; see docs/security.md):',
  ...Object.values(LIMIT_SETTINGS).map((s) => note('env', `${s.env.padEnd(42)} ${s.fileKey} ${s.help}`)),
  `  The config file may also declare applications (merged with the default demo_application):
    applications:
      - name: smart_meters
        versions:
          - name: smart_meters_v1
            extensions: [epmx]
            metadataKeyAccess: { serial: read-only }`,
].join('\n');

/**
 * The data directory for commands that run beside the server (`tether admin`, the API client's
 * local key): the same flag, variable and default as `tether start`, so both find one folder.
 */
export function dataDirFor(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const fromEnv = env[SETTINGS.dataDir.env];
  return path.resolve(cwd, flag ?? (fromEnv === undefined || fromEnv === '' ? DEFAULTS.dataDir : fromEnv));
}

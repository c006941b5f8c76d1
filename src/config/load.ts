import os from 'node:os';
import path from 'node:path';
import { errors } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { Limits } from '../core/limits.js';
import { parseApplications } from './applications.js';
import { parseClientAuthApplications } from './client-auth.js';
import { DEFAULTS, defaultApplications } from './defaults.js';
import { readConfigFile } from './file.js';
import { didYouMean } from '../core/did-you-mean.js';
import { parseFlags } from './flags.js';
import { CONFIG_FLAGS, FILE_KEYS, LIMIT_NAMES, LIMIT_SETTINGS, SETTINGS } from './settings.js';
import type { ResolvedSetting as Setting } from './settings.js';
import { parseTimeSeriesConfig } from './time-series.js';
import type { TetherConfig, TlsConfig } from './types.js';
import { Invalid } from './values.js';

export { CONFIG_FLAGS, CONFIG_HELP, TLS_FILE_SETTINGS } from './settings.js';

type Source = { kind: 'flag'; raw: string } | { kind: 'env'; raw: string } | { kind: 'file'; raw: unknown };

/**
 * Builds the configuration from command-line flags (the arguments after `tether start`), the
 * environment and an optional config file. Precedence: flags > environment > file > defaults.
 * Rejects with a one-line CONFIG_INVALID TetherError naming the flag, variable or file key.
 */
export async function loadConfig(argv: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<TetherConfig> {
  const cwd = options.cwd ?? process.cwd();
  const { values: flags } = parseFlags(argv, CONFIG_FLAGS, { usage: 'see npx tether start --help' });
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
    const flag = setting.flagName !== undefined ? flags[setting.flagName] : undefined;
    if (flag !== undefined) return { kind: 'flag', raw: flag };
    const fromEnv = envValue(setting.env);
    if (fromEnv !== undefined) return { kind: 'env', raw: fromEnv };
    const raw = fileValue(file, setting.fileKey);
    if (raw !== undefined && raw !== null) return { kind: 'file', raw };
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
        source.kind === 'flag' ? `--${setting.flagName!}${shown}`
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
    timeSeries = parseTimeSeriesConfig(file['kaa'], file['timeSeries'], applications);
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
      throw errors.configInvalid(`--${given.flagName!}`, 'TLS needs both a certificate and a key; add --tls-cert <file> and --tls-key <file> (or TETHER_TLS_CERT/TETHER_TLS_KEY, or tls.cert/tls.key in the config file)');
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
  const commandRetentionDays = resolve(SETTINGS.commandRetentionDays);
  const commandTtlSeconds = resolve(SETTINGS.commandTtlSeconds);
  if (commandRetentionDays !== undefined || commandTtlSeconds !== undefined) {
    config.commands = {
      ...(commandRetentionDays !== undefined && { retentionDays: commandRetentionDays }),
      ...(commandTtlSeconds !== undefined && { defaultTtlSeconds: commandTtlSeconds }),
    };
  }
  const packageMaxMb = resolve(SETTINGS.packageMaxMb);
  const packageUrlTtlSeconds = resolve(SETTINGS.packageUrlTtlSeconds);
  if (packageMaxMb !== undefined || packageUrlTtlSeconds !== undefined) {
    config.packages = {
      ...(packageMaxMb !== undefined && { maxMb: packageMaxMb }),
      ...(packageUrlTtlSeconds !== undefined && { urlTtlSeconds: packageUrlTtlSeconds }),
    };
  }
  const publicUrl = resolve(SETTINGS.publicUrl);
  if (publicUrl !== undefined) config.publicUrl = publicUrl;
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
      throw errors.configInvalid(`key ${name} in ${configFile}`, `there is no such setting${didYouMean(unknown, allowed)}; allowed: ${allowed.join(', ')}`);
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

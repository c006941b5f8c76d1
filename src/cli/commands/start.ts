import path from 'node:path';
import { CONFIG_HELP, DEFAULTS, loadConfig } from '../../config/index.js';
import type { TetherConfig } from '../../config/index.js';
import { adminApiKeyPath } from '../../platform/admin-key.js';
import { startIdleTrim } from '../../core/idle-trim.js';
import type { RunningTether } from '../../platform/tether.js';
import type { Command } from '../command.js';
import { wantsHelp } from '../command.js';
import type { Io } from '../io.js';
import { oneLine } from '../io.js';
import { tetherVersion } from '../version.js';

const help = `Usage: npx tether start [options]

Starts Tether: the MQTT server devices connect to (Kaa Protocol 1/KP), the REST API and the web
dashboard, with its data in one folder. Stop it with Ctrl+C (SIGINT) or SIGTERM. With TLS
configured, SIGHUP re-reads the certificate, key and CA files.

${CONFIG_HELP}`;

export const startCommand: Command = {
  name: 'start',
  help,
  async run(argv, io) {
    if (wantsHelp(argv)) {
      io.out(help);
      return 0;
    }
    const config = await loadConfig(argv, io.env, { cwd: io.cwd });
    // Loaded here, not at the top: the server's modules (fastify, the MQTT server, SQLite) would slow every
    // other command down by a second.
    const [{ startTether }, { createLogger }] = await Promise.all([import('../../platform/tether.js'), import('../../platform/logger.js')]);
    const logger = createLogger(config.logLevel);
    // Handlers go in before anything is printed: a supervisor may signal as soon as it sees the
    // banner, and without a handler Node would die on the spot instead of stopping gracefully.
    const signals = catchSignals(io);
    let running: RunningTether;
    try {
      running = await startTether(config, { logger });
    } catch (err) {
      signals.release();
      throw err;
    }
    printBanner(running, config, io);
    const stopReloading = reloadTlsOnHangup(running, io);
    // The process is this command's, so its heap is too (tests start Tether in-process without it).
    const trim = startIdleTrim({ trimmed: ({ beforeBytes, afterBytes, ms }) => logger.debug({ beforeMb: mb(beforeBytes), afterMb: mb(afterBytes), ms: Math.round(ms) }, 'quiet: heap trimmed') });
    try {
      return await signals.stopOn(running);
    } finally {
      trim.stop();
      stopReloading();
    }
  },
};

const mb = (bytes: number) => Math.round(bytes / 1048576);

/** SIGHUP re-reads the TLS files (certificate renewal without a restart); a failure keeps the old ones. */
function reloadTlsOnHangup(running: RunningTether, io: Io): () => void {
  const handler = () => {
    running.reloadTls().then(
      (certificate) => {
        if (certificate === undefined) io.out('Received SIGHUP: TLS is not configured, nothing to reload.');
        else io.out(`Received SIGHUP: TLS certificate reloaded (${certificate.subject}, valid until ${certificate.validTo}); new connections use it.`);
      },
      (err: unknown) => io.err(`Error: TLS reload failed, still using the previous certificate: ${oneLine(err)}`),
    );
  };
  process.on('SIGHUP', handler);
  return () => process.off('SIGHUP', handler);
}

/** Catches SIGINT/SIGTERM from now on; `stopOn` stops Tether at the first one (or at once if it came already). */
function catchSignals(io: Io) {
  let received: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
    received ??= signal;
  };
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const release = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };

  const stopOn = (running: RunningTether): Promise<number> =>
    new Promise((resolve) => {
      let stopping = false;
      onSignal = (signal) => {
        if (stopping) {
          io.err(`Received ${signal} again: exiting without waiting.`);
          resolve(1);
          return;
        }
        stopping = true;
        io.out(`Received ${signal}: stopping (devices are disconnected, pending writes are saved)...`);
        running.stop().then(
          () => {
            io.out('Stopped.');
            resolve(0);
          },
          (err: unknown) => {
            io.err(`Error: stopping failed: ${oneLine(err)}`);
            resolve(1);
          },
        );
      };
      if (received !== undefined) onSignal(received);
    });

  return { release, stopOn };
}

function urlHost(host: string): string {
  // A wildcard bind address is not something to type into a browser or a device.
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** The effective client authentication, so nobody is surprised by who may connect. */
function clientAuthLines(running: RunningTether): string[] {
  const { mode, applications = {} } = running.clientAuthConfig;
  const perApp = Object.entries(applications).filter(([, m]) => m !== mode);
  const overrides = perApp.length > 0 ? ` (per application: ${perApp.map(([app, m]) => `${app} ${m}`).join(', ')})` : '';
  if (mode === 'anonymous') {
    return [
      `  Client authentication: anonymous${overrides}. MQTT clients need no username or password; a device is identified`,
      '  by the endpoint token in its topics, and unknown, suspended or revoked tokens are refused.',
    ];
  }
  const what = mode === 'basic' ? 'the username and password of an active client credential' : 'a client certificate registered as an active client credential (mutual TLS)';
  return [
    `  Client authentication: ${mode}${overrides}. MQTT clients must connect with ${what};`,
    '  manage credentials with `npx tether credentials`. Endpoint tokens are checked as well.',
  ];
}

function printBanner(running: RunningTether, config: TetherConfig, io: Io): void {
  const host = urlHost(running.host);
  const bind = (port: number) => `${running.host.includes(':') ? `[${running.host}]` : running.host}:${port}`;
  const httpUrl = `http://${host}:${running.httpPort}`;
  const keyFile = adminApiKeyPath(running.dataDir);

  io.out(`Tether ${tetherVersion()} is running.`);
  io.out(`  MQTT (1/KP):      listening on ${bind(running.mqttPort)}  ->  devices connect to mqtt://${host}:${running.mqttPort}`);
  io.out(`  Dashboard + API:  listening on ${bind(running.httpPort)}  ->  ${httpUrl}/  (REST: ${httpUrl}/epr/api/v1, API reference: ${httpUrl}/api/docs)`);
  io.out(`  MQTT WebSocket:   ws://${host}:${running.httpPort}${running.wsPath}  (on the HTTP port, subprotocol mqtt)`);
  if (running.mqttsPort !== undefined) {
    io.out(`  MQTT over TLS:    listening on ${bind(running.mqttsPort)}  ->  mqtts://${host}:${running.mqttsPort}${config.tls?.ca !== undefined ? '  (client certificates requested)' : ''}`);
  }
  if (running.httpsPort !== undefined) {
    const httpsUrl = `https://${host}:${running.httpsPort}`;
    io.out(`  HTTPS:            listening on ${bind(running.httpsPort)}  ->  ${httpsUrl}/  (dashboard, REST API; MQTT over WebSocket: wss://${host}:${running.httpsPort}${running.wsPath})`);
  }
  io.out(`  Data directory:   ${running.dataDir}`);
  for (const line of clientAuthLines(running)) io.out(line);
  // First-start secrets: a block of their own on stdout, never in the logs (stderr).
  const secrets: string[] = [];
  if (running.generatedAdminPassword !== undefined) {
    secrets.push('Dashboard sign-in (generated now and shown only this once):', `  user admin, password ${running.generatedAdminPassword}`);
  }
  if (running.adminApiKeyGenerated) {
    if (secrets.length > 0) secrets.push('');
    secrets.push(`Admin API key (generated now and shown only this once; kept in ${keyFile}):`, `  ${running.adminApiKey}`);
  }
  if (secrets.length > 0) {
    const rule = '='.repeat(78);
    io.out('');
    io.out(rule);
    for (const line of secrets) io.out(line);
    io.out('Write these down now. Lost the password later? npx tether admin reset-password');
    io.out(rule);
  } else {
    io.out('  Accounts:         sign in as an existing user. Lost a password? Run (also while Tether runs):');
    io.out(`                    npx tether admin reset-password --user admin${running.dataDir !== path.resolve(io.cwd, DEFAULTS.dataDir) ? ` --data-dir ${shellQuote(running.dataDir)}` : ''}`);
  }

  // The follow-up commands must work as printed, so they carry every non-default setting.
  const apiFlags: string[] = [];
  if (running.httpPort !== 8080 || host !== 'localhost') apiFlags.push(`--api ${httpUrl}`);
  if (config.adminApiKey === undefined && running.dataDir !== path.resolve(io.cwd, DEFAULTS.dataDir)) apiFlags.push(`--data-dir ${shellQuote(running.dataDir)}`);
  const deviceFlags: string[] = [];
  if (host !== 'localhost') deviceFlags.push(`--host ${host}`);
  if (running.mqttPort !== 1883) deviceFlags.push(`--port ${running.mqttPort}`);
  const keyExpression = config.adminApiKey !== undefined ? '$TETHER_ADMIN_API_KEY' : `$(cat ${shellQuote(keyFile)})`;
  const body = JSON.stringify({ appVersion: { name: 'demo_application_v1' } });

  io.out('');
  io.out('Next: create an endpoint, then connect a device with its token:');
  io.out(`  npx tether endpoints create --app-version demo_application_v1${apiFlags.map((f) => ` ${f}`).join('')}`);
  io.out(`  (or: curl -X POST ${httpUrl}/epr/api/v1/endpoints -H "Authorization: Bearer ${keyExpression}" -H 'Content-Type: application/json' -d '${body}')`);
  io.out(`  npx tether device --token <token>${deviceFlags.map((f) => ` ${f}`).join('')}`);
  io.out('');
  io.out('Press Ctrl+C to stop.');
}

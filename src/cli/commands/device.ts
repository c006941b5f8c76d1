import { randomInt } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { isValidToken } from '../../core/names.js';
import type { Command } from '../command.js';
import { wantsHelp } from '../command.js';
import { abortOnSignals } from '../sleep.js';
import { parseCount, parseJsonObject } from '../format.js';
import type { Io } from '../io.js';
import { httpInsteadOfMqtt } from '../wrong-port.js';
import { API_FLAGS } from '../api-client.js';
import { runObserve } from './device-control.js';
import { fleetTokens, runOtaFleet } from './device-ota-fleet.js';
import type { FleetOptions } from './device-ota-fleet.js';
import type { ObserveOptions } from './device-control.js';
import { loadSamples, runTelemetry } from './device-telemetry.js';
import type { TelemetryOptions } from './device-telemetry.js';

/** Byte for byte what the tutorial's client.py publishes (Python's json.dumps spacing). */
const TUTORIAL_METADATA = '{"model": "MySmartMeter A300", "mac": "00-14-22-01-23-45"}';
const DEFAULT_APP_VERSION = 'demo_application_v1';
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_REBOOT_DELAY_MS = 1000;

const help = `Usage: npx tether device --token <token> [options]

A simulated device, like the tutorial's client.py: connects over MQTT, reports its metadata with
10/EPMP (publishes to kp1/<app-version>/epmx/<token>/update/keys) and disconnects.

Options:
  -t, --token <token>       endpoint token (from \`npx tether endpoints create\`)               required
  --host <host>             MQTT server host (default localhost)
  -p, --port <port>         MQTT server port (default TETHER_MQTT_PORT, else 1883)
  --app-version <name>      application version in the topic (default ${DEFAULT_APP_VERSION})
  --metadata <json>         metadata to report (default ${TUTORIAL_METADATA})
  --qos <0|1>               MQTT QoS of the publish (default 0, as the tutorial)
  --request-id <n>          1/KP request ID in the topic (default: a random one). The device waits
                            for the server's reply on <topic>/status or <topic>/error and exits 1
                            with the reason when the server refuses (token unknown, suspended,
                            revoked; key not writable; ...)
  --no-wait                 publish without a request ID and do not wait, exactly like the
                            tutorial's client.py (the exit code then says nothing about the server)
  --show-replies            (the default; kept for older scripts)
  --timeout <ms>            how long to wait for the connection and for a reply (default ${DEFAULT_TIMEOUT_MS})
  -h, --help                show this help

Exit codes: 0 the server accepted the metadata; 1 it refused (the reason is printed), did not
answer in time, or could not be reached.

Telemetry mode (the data collection tutorial's client, 2/DCP):
  --telemetry               publish data samples to kp1/<app-version>/dcx/<token>/json/<requestId>
                            every interval and print the server's replies, instead of metadata
  --samples <file>          JSON file with sample objects (an array), sent in turn; default: a
                            simulated vehicle (latitude, longitude, temperature, fuelLevel, timestamp)
  --interval <seconds>      between batches (default 3, as the tutorial)
  --batch <n>               samples per message (default 1)
  --count <n>               stop after n messages (default: run until Ctrl-C)

Control mode (configuration, 7/CMP, and commands, 11/CEP):
  --observe                 stay connected until Ctrl-C instead: send {"observe":true} to
                            kp1/<app-version>/cmx/<token>/config/json/<requestId>, print every
                            configuration received (the reply, and pushes on …/config/json[/<name>]/status)
                            and report it on …/cmx/<token>/applied/json[/<name>]; answer commands
                            pushed on kp1/<app-version>/cex/<token>/command/<type>/status with a result
                            on …/cex/<token>/result/<type>: \`echo\` answers 200 with its payload,
                            \`reboot\` answers 200, disconnects and reconnects after --reboot-delay,
                            any other type answers 501 "unsupported command". Exits 0 on Ctrl-C, 1
                            when the server refuses the token or cannot be reached at the start
  --reboot-delay <ms>       how long a reboot (or a lost connection) keeps the device away (default ${DEFAULT_REBOOT_DELAY_MS})

Software update mode (Kaa OTAO on the 7/CMP instance cmx_ota, as the official clients speak it):
  --ota                     stay connected until Ctrl-C: report the running version on
                            kp1/<app-version>/cmx_ota/<token>/applied/json {"configId":"<version>"},
                            ask on …/cmx_ota/<token>/config/json/<requestId> {}, and take pushes on
                            …/config/json/status. Offered a version, download config.package.url
                            (resuming with Range when the transfer breaks), check its size and
                            SHA-256 and report the new version, or {configId, statusCode: 500,
                            reasonPhrase} when a check fails
  --current-version <v>     the version the device runs at the start (default 1.0.0; "" reports none)
  --fail-rate <0..1>        share of updates that fail on purpose after the download (default 0),
                            reported as 500 "simulated failure (--fail-rate)", to exercise abort rules
  --interrupt-at <bytes>    break each first download after that many bytes (then resume), to see
                            Range resumption at work
  --devices <n>             simulate n devices, each its own connection and token: the tokens of
                            --tokens-file, else n new endpoints registered over the REST API (with
                            --api, --api-key, --data-dir as in npx tether endpoints create)
  --tokens-file <file>      one token a line (or the CSV of npx tether endpoints import --tokens-out)
  --until-updated           exit once every device applied or failed one update: 0 all applied, 1 not

Examples:
  npx tether device --token myToken --host localhost --port 1883
  npx tether device --token myToken --telemetry --interval 1 --count 10
  npx tether device --token myToken --observe
  npx tether device --token myToken --ota --current-version 1.0.0
  npx tether device --ota --devices 20 --fail-rate 0.3`;

const FLAGS = {
  token: { type: 'string', short: 't' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'app-version': { type: 'string' },
  metadata: { type: 'string' },
  'request-id': { type: 'string' },
  qos: { type: 'string' },
  'show-replies': { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  telemetry: { type: 'boolean' },
  samples: { type: 'string' },
  interval: { type: 'string' },
  batch: { type: 'string' },
  count: { type: 'string' },
  observe: { type: 'boolean' },
  'reboot-delay': { type: 'string' },
  ota: { type: 'boolean' },
  'current-version': { type: 'string' },
  'fail-rate': { type: 'string' },
  'interrupt-at': { type: 'string' },
  devices: { type: 'string' },
  'tokens-file': { type: 'string' },
  'until-updated': { type: 'boolean' },
  api: API_FLAGS.api,
  'api-key': API_FLAGS['api-key'],
  'data-dir': API_FLAGS['data-dir'],
  help: { type: 'boolean', short: 'h' },
} as const;

const OTA_ONLY = ['current-version', 'fail-rate', 'interrupt-at', 'devices', 'tokens-file', 'until-updated', 'api', 'api-key', 'data-dir'] as const;

interface DeviceOptions {
  token: string;
  host: string;
  port: number;
  appVersion: string;
  metadata: string;
  requestId: number | undefined;
  qos: 0 | 1;
  timeoutMs: number;
  /** Set in telemetry mode. */
  telemetry?: TelemetryOptions;
  /** Set in control mode (--observe). */
  observe?: ObserveOptions;
  /** Set in software update mode (--ota). */
  ota?: Omit<FleetOptions, 'tokens'> & { tokenSource: Parameters<typeof fleetTokens>[0] };
}

export const deviceCommand: Command = {
  name: 'device',
  help,
  async run(argv, io) {
    if (wantsHelp(argv)) {
      io.out(help);
      return 0;
    }
    const options = parseOptions(argv, io);
    try {
      return await runDevice(options, io);
    } catch (err) {
      // Device failures read like the tutorial client's log lines.
      io.err(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  },
};

function parseOptions(argv: string[], io: Io): DeviceOptions {
  const { values } = parseFlags(argv, FLAGS, { usage: 'see npx tether device --help' });
  if (values.ota === true) return parseOta(values, io);
  const otaFlag = OTA_ONLY.find((flag) => values[flag] !== undefined);
  if (otaFlag !== undefined) throw errors.configInvalid('command line', `--${otaFlag} belongs to software update mode; add --ota`);
  const token = values.token;
  if (token === undefined) throw errors.configInvalid('command line', 'the endpoint token is missing; use npx tether device --token <token> (the token from npx tether endpoints create)');
  if (!isValidToken(token)) throw errors.configInvalid(`--token ${JSON.stringify(token)}`, 'tokens are 1-256 characters without "+", "#", "/", "." or control characters');
  const { host, port, appVersion, qos, timeoutMs } = connection(values, io);
  const metadata = values.metadata ?? TUTORIAL_METADATA;
  parseJsonObject('--metadata', metadata);
  let requestId: number | undefined;
  if (values['request-id'] !== undefined) {
    if (values['no-wait'] === true) throw errors.configInvalid('command line', '--request-id and --no-wait contradict each other; leave one out');
    // 1/KP: a request ID is a positive integer in the last topic level.
    requestId = parseCount('--request-id', values['request-id'], 1);
  } else if (values['no-wait'] !== true) {
    // By default the device asks for a reply, so a refused token is an error, not a silent success.
    requestId = randomInt(1, 1_000_000);
  }
  const options: DeviceOptions = { token, host, port, appVersion, metadata, requestId, qos, timeoutMs };
  if (values.observe === true) {
    if (values.telemetry === true) throw errors.configInvalid('command line', '--observe and --telemetry are different modes; use one');
    if (values.metadata !== undefined || values['request-id'] !== undefined || values['no-wait'] === true) {
      throw errors.configInvalid('command line', '--metadata, --request-id and --no-wait belong to the metadata mode, not to --observe');
    }
  } else if (values['reboot-delay'] !== undefined) {
    throw errors.configInvalid('command line', '--reboot-delay belongs to control mode; add --observe');
  }
  if (values.observe === true) {
    options.observe = {
      token,
      appVersion,
      qos: options.qos,
      reconnectDelayMs: values['reboot-delay'] !== undefined ? parseCount('--reboot-delay', values['reboot-delay'], 0) : DEFAULT_REBOOT_DELAY_MS,
    };
  } else if (values.telemetry === true) {
    const intervalS = values.interval !== undefined ? Number(values.interval) : 3;
    if (!Number.isFinite(intervalS) || intervalS < 0.01) throw errors.configInvalid(`--interval ${JSON.stringify(values.interval)}`, 'give the seconds between batches, e.g. 3 or 0.5');
    options.telemetry = {
      token,
      appVersion,
      qos: options.qos,
      intervalS,
      batch: values.batch !== undefined ? parseCount('--batch', values.batch, 1) : 1,
      count: values.count !== undefined ? parseCount('--count', values.count, 1) : undefined,
      samplesFile: values.samples,
      replyTimeoutMs: timeoutMs,
    };
  } else if (values.samples !== undefined || values.interval !== undefined || values.batch !== undefined || values.count !== undefined) {
    throw errors.configInvalid('command line', '--samples, --interval, --batch and --count belong to telemetry mode; add --telemetry');
  }
  return options;
}

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

function connection(values: Values, io: Io): { host: string; port: number; appVersion: string; qos: 0 | 1; timeoutMs: number } {
  const envPort = io.env['TETHER_MQTT_PORT'];
  const portText = values.port ?? (envPort !== undefined && envPort !== '' ? envPort : '1883');
  const port = parseCount(values.port !== undefined ? '--port' : 'TETHER_MQTT_PORT', portText, 1);
  if (port > 65535) throw errors.configInvalid(`--port ${portText}`, 'use a port number from 1 to 65535');
  const appVersion = values['app-version'] ?? DEFAULT_APP_VERSION;
  if (!/^[a-z0-9_-]+$/.test(appVersion)) throw errors.configInvalid(`--app-version ${JSON.stringify(appVersion)}`, 'application version names match ^[a-z0-9_-]+$');
  const qosText = values.qos ?? '0';
  if (qosText !== '0' && qosText !== '1') throw errors.configInvalid(`--qos ${JSON.stringify(qosText)}`, 'use 0 or 1');
  const timeoutMs = values.timeout !== undefined ? parseCount('--timeout', values.timeout, 1) : DEFAULT_TIMEOUT_MS;
  return { host: values.host ?? 'localhost', port, appVersion, qos: qosText === '1' ? 1 : 0, timeoutMs };
}

function parseOta(values: Values, io: Io): DeviceOptions {
  const other = (['observe', 'telemetry', 'metadata', 'request-id', 'no-wait', 'samples', 'interval', 'batch', 'count', 'reboot-delay'] as const).find((flag) => values[flag] !== undefined);
  if (other !== undefined) throw errors.configInvalid('command line', `--${other} belongs to another mode, not to --ota`);
  const token = values.token;
  if (token !== undefined && !isValidToken(token)) throw errors.configInvalid(`--token ${JSON.stringify(token)}`, 'tokens are 1-256 characters without "+", "#", "/", "." or control characters');
  const devices = values.devices !== undefined ? parseCount('--devices', values.devices, 1) : undefined;
  if (token === undefined && values['tokens-file'] === undefined && devices === undefined) {
    throw errors.configInvalid('command line', 'the endpoint token is missing; use npx tether device --ota --token <token>, or --devices <n> to register and simulate n devices');
  }
  const c = connection(values, io);
  const version = values['current-version'] ?? '1.0.0';
  const failRate = values['fail-rate'] !== undefined ? Number(values['fail-rate']) : 0;
  if (values['fail-rate'] !== undefined && (values['fail-rate'].trim() === '' || !Number.isFinite(failRate) || failRate < 0 || failRate > 1)) {
    throw errors.configInvalid(`--fail-rate ${JSON.stringify(values['fail-rate'])}`, 'use a share from 0 to 1, e.g. 0.3 for 30 % of the updates');
  }
  return {
    token: token ?? '',
    ...c,
    metadata: TUTORIAL_METADATA,
    requestId: undefined,
    ota: {
      device: {
        appVersion: c.appVersion,
        qos: c.qos,
        currentVersion: version === '' ? null : version,
        failRate,
        interruptAt: values['interrupt-at'] !== undefined ? parseCount('--interrupt-at', values['interrupt-at'], 0) : undefined,
        downloadAttempts: 5,
      },
      untilUpdated: values['until-updated'] === true,
      tokenSource: { token, tokensFile: values['tokens-file'], devices, appVersion: c.appVersion, api: { api: values.api, 'api-key': values['api-key'], 'data-dir': values['data-dir'] } },
    },
  };
}

async function runOtaDevices(o: DeviceOptions, ota: NonNullable<DeviceOptions['ota']>, address: string, io: Io): Promise<number> {
  const tokens = await fleetTokens(ota.tokenSource, io);
  io.out(tokens.length === 1 ? `INFO: Using EP token ${tokens[0]}, server at ${address}` : `INFO: Simulating ${tokens.length} devices, server at ${address}`);
  io.out(`INFO: Connecting to KPC instance at ${address}...`);
  const { connect } = await import('mqtt');
  const stop = abortOnSignals('SIGINT', 'SIGTERM');
  try {
    const code = await runOtaFleet(() => connectDevice(connect, o, address), { device: ota.device, untilUpdated: ota.untilUpdated, tokens }, io, stop.signal);
    io.out(`INFO: Disconnected from server at ${address}.`);
    return code;
  } finally {
    stop.release();
  }
}

async function runDevice(o: DeviceOptions, io: Io): Promise<number> {
  const address = `${o.host}:${o.port}`;
  if (o.ota) return runOtaDevices(o, o.ota, address, io);
  if (o.telemetry) return runTelemetryDevice(o, o.telemetry, address, io);
  if (o.observe) return runObserveDevice(o, o.observe, address, io);
  const topic = `kp1/${o.appVersion}/epmx/${o.token}/update/keys${o.requestId !== undefined ? `/${o.requestId}` : ''}`;
  io.out(`INFO: Using EP token ${o.token}, server at ${address}`);
  io.out(`DEBUG: Composed metadata topic: ${topic}`);
  io.out(`INFO: Connecting to KPC instance at ${address}...`);
  // Loaded on use so the other commands start quickly.
  const { connect } = await import('mqtt');
  const client = await connectDevice(connect, o, address);
  io.out('INFO: Successfully connected');

  let exitCode = 0;
  try {
    const waiting = o.requestId !== undefined ? await awaitReply(client, topic, o) : undefined;
    await client.publishAsync(topic, o.metadata, { qos: o.qos });
    io.out(`INFO: Sent metadata: ${o.metadata}${waiting !== undefined ? ' (waiting for the server\'s reply)' : ''}`);
    if (waiting !== undefined) exitCode = report(await waiting.reply, topic, io);
  } finally {
    io.out(`INFO: Disconnecting from server at ${address}.`);
    await disconnect(client, o.timeoutMs);
    io.out('INFO: Successfully disconnected');
  }
  return exitCode;
}

async function runTelemetryDevice(o: DeviceOptions, t: TelemetryOptions, address: string, io: Io): Promise<number> {
  const samples = t.samplesFile !== undefined ? await loadSamples(t.samplesFile) : undefined;
  io.out(`INFO: Using EP token ${o.token}, server at ${address}`);
  io.out(`INFO: Connecting to KPC instance at ${address}...`);
  const { connect } = await import('mqtt');
  const client = await connectDevice(connect, o, address);
  io.out('INFO: Successfully connected');
  // Ctrl-C ends the loop and disconnects cleanly.
  const stop = abortOnSignals('SIGINT');
  try {
    return await runTelemetry(client, t, samples, io, stop.signal);
  } finally {
    stop.release();
    io.out(`INFO: Disconnecting from server at ${address}.`);
    await disconnect(client, o.timeoutMs);
    io.out('INFO: Successfully disconnected');
  }
}

async function runObserveDevice(o: DeviceOptions, ob: ObserveOptions, address: string, io: Io): Promise<number> {
  io.out(`INFO: Using EP token ${o.token}, server at ${address}`);
  io.out(`INFO: Connecting to KPC instance at ${address}...`);
  const { connect } = await import('mqtt');
  // Ctrl-C (or a supervisor's SIGTERM) disconnects cleanly.
  const stop = abortOnSignals('SIGINT', 'SIGTERM');
  let connected = false;
  try {
    const code = await runObserve(
      async () => {
        const client = await connectDevice(connect, o, address);
        if (!connected) io.out('INFO: Successfully connected');
        connected = true;
        return client;
      },
      ob,
      io,
      stop.signal,
    );
    io.out(`INFO: Disconnected from server at ${address}.`);
    return code;
  } finally {
    stop.release();
  }
}

function connectDevice(connect: typeof import('mqtt').connect, o: DeviceOptions, address: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    // 1/KP clients authenticate by token only, so no username or password; MQTT 3.1.1 like paho.
    const client = connect({ host: o.host, port: o.port, protocol: 'mqtt', protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: o.timeoutMs });
    // Socket errors after the connection is up surface as 'close' while waiting, never as an
    // unhandled 'error' event.
    client.on('error', () => {});
    const settle = () => {
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    const fail = (problem: string, probe = false) => {
      settle();
      client.end(true);
      if (!probe) return reject(errors.mqttUnreachable(address, problem));
      // Garbage or a hang-up instead of CONNACK: perhaps this is the HTTP port.
      void httpInsteadOfMqtt(o.host, o.port).then((named) => reject(errors.mqttUnreachable(address, named ?? problem)));
    };
    const onConnect = () => {
      settle();
      resolve(client);
    };
    const onError = (err: Error & { code?: string | number }) => {
      const code = err.code;
      if (code === 'ECONNREFUSED') fail('connection refused');
      else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') fail('host not found');
      else fail(err.message, true);
    };
    const onClose = () => fail('the server closed the connection', true);
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs} ms`, true), o.timeoutMs);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

type Reply = { kind: 'status' | 'error'; payload: string } | { kind: 'timeout' } | { kind: 'closed' };

/**
 * Listens for the 1/KP reply before publishing, so a fast reply is not missed. Tether delivers the
 * reply to the requesting session even without a subscription; the subscription is for brokers that
 * need one, and a refused one (e.g. the token is suspended) is not fatal: the `/error` still arrives.
 */
async function awaitReply(client: MqttClient, topic: string, o: DeviceOptions): Promise<{ reply: Promise<Reply> }> {
  const statusTopic = `${topic}/status`;
  const errorTopic = `${topic}/error`;
  await client.subscribeAsync([statusTopic, errorTopic], { qos: o.qos }).catch(() => undefined);
  // Wrapped: an async function returning a bare promise would wait for the reply itself.
  const reply = new Promise<Reply>((resolve) => {
    const done = (reply: Reply) => {
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      client.removeListener('close', onClose);
      resolve(reply);
    };
    const onMessage = (t: string, payload: Buffer) => {
      if (t === statusTopic) done({ kind: 'status', payload: payload.toString('utf8') });
      else if (t === errorTopic) done({ kind: 'error', payload: payload.toString('utf8') });
    };
    const onClose = () => done({ kind: 'closed' });
    const timer = setTimeout(() => done({ kind: 'timeout' }), o.timeoutMs);
    client.on('message', onMessage);
    client.on('close', onClose);
  });
  return { reply };
}

function report(reply: Reply, topic: string, io: Io): number {
  switch (reply.kind) {
    case 'status':
      io.out(`INFO: Server accepted the request (reply on ${topic}/status): ${reply.payload === '' ? '(empty payload)' : reply.payload}`);
      return 0;
    case 'error': {
      // 1/KP error payload: {"statusCode": N, "reasonPhrase": "..."}.
      let detail = reply.payload;
      try {
        const parsed = JSON.parse(reply.payload) as { statusCode?: unknown; reasonPhrase?: unknown };
        if (typeof parsed.statusCode === 'number') detail = `${parsed.statusCode} ${String(parsed.reasonPhrase ?? '')}`.trim();
      } catch {
        // Not JSON: show it as it came.
      }
      io.err(`ERROR: Server rejected the request (reply on ${topic}/error): ${detail}`);
      return 1;
    }
    case 'timeout':
      io.err(`ERROR: No reply on ${topic}/status or ${topic}/error in time. Is the server a Tether or Kaa instance, and the app version right?`);
      return 1;
    case 'closed':
      io.err('ERROR: The server closed the connection before replying (a suspended or revoked token is disconnected).');
      return 1;
  }
}

async function disconnect(client: MqttClient, timeoutMs: number): Promise<void> {
  if (!client.connected) {
    client.end(true);
    return;
  }
  // A graceful end sends what is queued, then DISCONNECT; force it if the server stops answering.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.endAsync(),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        client.end(true);
        resolve();
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}

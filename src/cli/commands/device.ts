import { randomInt } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { isValidToken } from '../../core/names.js';
import type { Command } from '../command.js';
import { wantsHelp } from '../command.js';
import { parseCount, parseJsonObject } from '../format.js';
import type { Io } from '../io.js';

/** Byte for byte what the tutorial's client.py publishes (Python's json.dumps spacing). */
const TUTORIAL_METADATA = '{"model": "MySmartMeter A300", "mac": "00-14-22-01-23-45"}';
const DEFAULT_APP_VERSION = 'demo_application_v1';
const DEFAULT_TIMEOUT_MS = 5000;

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

Example:
  npx tether device --token myToken --host localhost --port 1883`;

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
  help: { type: 'boolean', short: 'h' },
} as const;

interface DeviceOptions {
  token: string;
  host: string;
  port: number;
  appVersion: string;
  metadata: string;
  requestId: number | undefined;
  qos: 0 | 1;
  timeoutMs: number;
}

export const deviceCommand: Command = {
  name: 'device',
  summary: 'simulate a device: connect with a token and report metadata (the tutorial client)',
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
  const token = values.token;
  if (token === undefined) throw errors.configInvalid('command line', 'the endpoint token is missing; use npx tether device --token <token> (the token from npx tether endpoints create)');
  if (!isValidToken(token)) throw errors.configInvalid(`--token ${JSON.stringify(token)}`, 'tokens are 1-256 characters without "+", "#", "/", "." or control characters');
  const envPort = io.env['TETHER_MQTT_PORT'];
  const portText = values.port ?? (envPort !== undefined && envPort !== '' ? envPort : '1883');
  const port = parseCount(values.port !== undefined ? '--port' : 'TETHER_MQTT_PORT', portText, 1);
  if (port > 65535) throw errors.configInvalid(`--port ${portText}`, 'use a port number from 1 to 65535');
  const appVersion = values['app-version'] ?? DEFAULT_APP_VERSION;
  if (!/^[a-z0-9_-]+$/.test(appVersion)) throw errors.configInvalid(`--app-version ${JSON.stringify(appVersion)}`, 'application version names match ^[a-z0-9_-]+$');
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
  const qosText = values.qos ?? '0';
  if (qosText !== '0' && qosText !== '1') throw errors.configInvalid(`--qos ${JSON.stringify(qosText)}`, 'use 0 or 1');
  const timeoutMs = values.timeout !== undefined ? parseCount('--timeout', values.timeout, 1) : DEFAULT_TIMEOUT_MS;
  return { token, host: values.host ?? 'localhost', port, appVersion, metadata, requestId, qos: qosText === '1' ? 1 : 0, timeoutMs };
}

async function runDevice(o: DeviceOptions, io: Io): Promise<number> {
  const address = `${o.host}:${o.port}`;
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
    const fail = (problem: string) => {
      settle();
      client.end(true);
      reject(errors.mqttUnreachable(address, problem));
    };
    const onConnect = () => {
      settle();
      resolve(client);
    };
    const onError = (err: Error & { code?: string | number }) => {
      const code = err.code;
      fail(code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' : err.message);
    };
    const onClose = () => fail('the server closed the connection');
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs} ms`), o.timeoutMs);
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

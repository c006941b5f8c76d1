/**
 * Plumbing for the crash tests: `tether start` as a child process that can be killed, and a fleet
 * of real MQTT devices pumping 10/EPMP `update/keys` requests while recording what was acknowledged.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { Metadata } from '../../src/core/types.js';
import { asJson, httpOk } from '../helpers/http.js';
import type { Cleanup } from '../helpers/tmp.js';

// The compiled CLI next to this compiled test (dist/ or a private build dir alike).
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const ADMIN_API_KEY = 'crash-test-admin-key-0123456789';
const APP_VERSION = 'demo_application_v1';

export type { Cleanup };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  mqttPort: number;
  httpPort: number;
  exited: Promise<Exit>;
  /** Everything the server printed so far, for failure messages. */
  output(): string;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return { ...env, TETHER_ADMIN_API_KEY: ADMIN_API_KEY, TETHER_LOG_LEVEL: 'warn' };
}

/** `tether start` on free ports over `dataDir`; resolves once the banner says where it listens. */
export async function startServer(t: Cleanup, dataDir: string, flags: string[] = []): Promise<ServerProcess> {
  const args = [MAIN, 'start', '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--data-dir', dataDir, ...flags];
  const child = spawn(process.execPath, args, { env: childEnv() });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes('Press Ctrl+C to stop.')) resolve();
    };
    child.stdout.on('data', check);
    void exited.then((exit) => reject(new Error(`tether start exited (${exit.code ?? exit.signal}): ${out}`)));
  });
  const mqtt = /MQTT \(1\/KP\):\s+listening on 127\.0\.0\.1:(\d+)/.exec(out);
  const http = /Dashboard \+ API:\s+listening on 127\.0\.0\.1:(\d+)/.exec(out);
  assert.ok(mqtt && http, `ports in the banner:\n${out}`);
  return { child, mqttPort: Number(mqtt[1]), httpPort: Number(http[1]), exited, output: () => out };
}

/** Calls the server's REST API with the admin key; fails the test on a non-2xx answer. */
export function api<T>(server: ServerProcess, method: string, route: string, body?: unknown): Promise<T> {
  return httpOk<T>(server, method, route, { auth: ADMIN_API_KEY, body: asJson(body) });
}

/** One endpoint and what its device was told about the updates it sent. */
export interface Device {
  endpointId: string;
  token: string;
  /** Highest request ID (= `seq`) published so far, in any round. */
  lastSent: number;
  /** Highest `seq` whose PUBACK arrived. */
  acked: number;
  /** Highest `seq` answered on `/status`. */
  statusReplied: number;
  /** `/error` replies: none are expected. */
  errors: string[];
}

/**
 * Request IDs (and `seq` values) start here: four digits or more, so searching for one always goes
 * through the trigram index (it cannot answer needles under three characters).
 */
export const FIRST_SEQ = 1000;

export async function createDevices(server: ServerProcess, count: number): Promise<Device[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const created = await api<{ endpointId: string; token: string }>(server, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } });
      return { endpointId: created.endpointId, token: created.token, lastSent: FIRST_SEQ - 1, acked: 0, statusReplied: 0, errors: [] };
    }),
  );
}

/** The update with request ID `seq`: a rising counter and one of five keys. */
export function updateOf(seq: number): Metadata {
  return { seq, [`d${seq % 5}`]: seq };
}

const STATUS = /\/update\/keys\/(\d+)\/status$/;

export interface Traffic {
  /** PUBACKs received since the traffic started. */
  readonly acks: number;
  /** Publishes sent and not acknowledged (yet). */
  inflight(): number;
  /** Every device has had at least one update acknowledged. */
  allAcked(): boolean;
  /** Stops sending and closes the clients (without waiting for anything from the server). */
  stop(): Promise<void>;
}

/**
 * Connects one MQTT 3.1.1 client per device (clean session, no reconnect) and keeps `window` QoS 1
 * updates in flight on each, every one with a request ID, until stopped or the connection is gone.
 */
export async function startTraffic(devices: Device[], mqttPort: number, window: number): Promise<Traffic> {
  let stopped = false;
  let acks = 0;
  let inflight = 0;
  const ackedOnce = new Set<Device>();
  const clients: MqttClient[] = [];

  const drive = async (device: Device) => {
    const client = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(client);
    client.on('error', () => {}); // the server is killed under it: expected
    const prefix = `kp1/${APP_VERSION}/epmx/${device.token}/update/keys`;
    client.on('message', (topic, payload) => {
      const status = STATUS.exec(topic);
      if (status) device.statusReplied = Math.max(device.statusReplied, Number(status[1]));
      else if (topic.endsWith('/error')) device.errors.push(`${topic}: ${payload.toString()}`);
    });
    let mine = 0;
    const pump = () => {
      while (!stopped && client.connected && mine < window) {
        const seq = ++device.lastSent;
        mine++;
        inflight++;
        client.publish(`${prefix}/${seq}`, JSON.stringify(updateOf(seq)), { qos: 1 }, (err) => {
          mine--;
          inflight--;
          if (!err) {
            acks++;
            ackedOnce.add(device);
            device.acked = Math.max(device.acked, seq);
          }
          pump();
        });
      }
    };
    pump();
  };

  await Promise.all(devices.map(drive));
  return {
    get acks() {
      return acks;
    },
    inflight: () => inflight,
    allAcked: () => ackedOnce.size === devices.length,
    async stop() {
      stopped = true;
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    },
  };
}


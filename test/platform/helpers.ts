import assert from 'node:assert/strict';
import net from 'node:net';
import { loadConfig } from '../../src/config/index.js';
import type { TetherConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/log.js';
import { startTether } from '../../src/platform/tether.js';
import type { RunningTether } from '../../src/platform/tether.js';
import { asJson, httpCall } from '../helpers/http.js';
import type { Cleanup } from '../helpers/tmp.js';

/** A config as `tether start` would build it, on free ports and loopback only. */
export function testConfig(dataDir: string, flags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<TetherConfig> {
  return loadConfig(['--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--data-dir', dataDir, ...flags], env);
}

export async function start(t: Cleanup, config: TetherConfig): Promise<RunningTether> {
  const running = await startTether(config, { logger: silentLogger });
  t.after(() => running.stop());
  return running;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** Calls the REST API of a running Tether with its admin key. */
export async function api<T = unknown>(running: RunningTether, method: string, route: string, body?: unknown): Promise<ApiResponse<T>> {
  const reply = await httpCall(running, method, route, { auth: running.adminApiKey, body: asJson(body) });
  return { status: reply.status, body: reply.json as T };
}

export async function createEndpoint(running: RunningTether, body: Record<string, unknown> = {}): Promise<{ endpointId: string; token: string }> {
  const created = await api<{ endpointId: string; token: string; status: string }>(running, 'POST', '/epr/api/v1/endpoints', {
    appVersion: { name: 'demo_application_v1' },
    ...body,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

/** A port that was free a moment ago (for tests that need a concrete number). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// --- raw MQTT 3.1.1 packets, for clients that do not wait for anything -------------------------

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function utf8Field(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export function connectPacket(clientId: string): Buffer {
  // Protocol "MQTT" level 4, clean session, keepalive 60 s.
  const body = Buffer.concat([utf8Field('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c]), utf8Field(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export function publishQos0Packet(topic: string, payload: string): Buffer {
  const body = Buffer.concat([utf8Field(topic), Buffer.from(payload, 'utf8')]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}

export const DISCONNECT_PACKET = Buffer.from([0xe0, 0x00]);

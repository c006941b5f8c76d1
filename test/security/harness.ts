/**
 * MQTT server and REST API over one set of real services (temp SQLite file), with limits and a
 * controllable clock, for the security tests. Reuses the transport harness's clients and helpers.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import mqttPacket from 'mqtt-packet';
import { createApiServer } from '../../src/api/index.js';
import type { Limits } from '../../src/core/limits.js';
import { silentLogger } from '../../src/core/log.js';
import type { EndpointRecord, Metadata, TokenRecord } from '../../src/core/types.js';
import { createMqttServer } from '../../src/transport/index.js';
import { connect as connectClient } from '../transport/harness.js';
import type { IClientOptions, MqttClient } from 'mqtt';
import { httpCall } from '../helpers/http.js';
import { DEMO_APP, DEMO_VERSION, createTestServices } from '../helpers/services.js';
import { createRecordingLogger } from '../transport/harness.js';
import type { Harness } from '../transport/harness.js';
import { createTestClock, type TestClock } from '../helpers/clock.js';
import { waitFor } from '../helpers/wait.js';

export { Inbox, createEndpoint, kpTopic, request } from '../transport/harness.js';

/**
 * A real MQTT client without keepalive: the server's keepalive runs on this harness's hand-driven
 * clock, and a test that moves the clock by hours (to refill a rate bucket) would otherwise have the
 * next sweep end its clients. Keepalive itself is tested with raw clients (test/transport/sessions.test.ts).
 */
export function connect(h: Harness, options: IClientOptions = {}): Promise<MqttClient> {
  return connectClient(h, { keepalive: 0, ...options });
}
export type { Harness } from '../transport/harness.js';
export { DEMO_APP, DEMO_VERSION };

export const API_KEY = 'security-test-admin-key-0123456789';
export const OTHER_APP = 'other_application';
export const OTHER_VERSION = 'other_application_v1';
/** A version of the demo application with no extension enabled. */
export const BARE_VERSION = 'demo_application_bare';

export interface SecureHarness extends Harness {
  api: FastifyInstance;
  apiBase: string;
  clock: TestClock;
  /** fetch against the REST API with the admin key. */
  call(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; text: string; json: unknown }>;
}

export async function startSecure(options: { limits?: Partial<Limits> } = {}): Promise<SecureHarness> {
  const clock = createTestClock();
  const services = await createTestServices({
    declare: [
      { name: DEMO_APP, versions: [{ name: DEMO_VERSION, extensions: ['epmx'] }, { name: BARE_VERSION, extensions: [] }] },
      { name: OTHER_APP, versions: [{ name: OTHER_VERSION, extensions: ['epmx'] }] },
    ],
    ...(options.limits && { limits: options.limits }),
  });
  const logger = createRecordingLogger();
  const server = createMqttServer({ services, bus: services.bus, logger, clock, ...(options.limits && { limits: options.limits }) });
  let api: FastifyInstance | undefined;
  try {
    const port = await server.listen(0, '127.0.0.1');
    api = await createApiServer({
      services,
      storage: services.storage,
      bus: services.bus,
      logger: silentLogger,
      adminApiKey: API_KEY,
      ...(options.limits?.tokenIssuePerMinute !== undefined && { tokenIssuePerMinute: options.limits.tokenIssuePerMinute }),
      ...(options.limits?.httpBodyLimit !== undefined && { bodyLimit: options.limits.httpBodyLimit }),
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const apiBase = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const app = api;
    const clients: Harness['clients'] = [];
    return {
      services,
      server,
      port,
      url: `mqtt://127.0.0.1:${port}`,
      logs: logger.records,
      clients,
      api: app,
      apiBase,
      clock,
      call(method, urlPath, body, headers = {}) {
        const { authorization = `Bearer ${API_KEY}`, ...rest } = headers;
        return httpCall(apiBase, method, urlPath, { auth: authorization, body, headers: rest, ...(rest['content-type'] !== undefined && { contentType: rest['content-type'] }) });
      },
      async close() {
        await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
        await app.close();
        await server.close();
        await services.close();
      },
    };
  } catch (err) {
    await api?.close();
    await server.close();
    await services.close();
    throw err;
  }
}

/** Everything an attack could change: endpoints with metadata, and every token's status. */
export async function snapshot(h: Harness): Promise<{ endpoints: EndpointRecord[]; metadata: Record<string, Metadata>; tokens: TokenRecord[] }> {
  const page = await h.services.registry.listEndpoints({ offset: 0, limit: 1000, includeMetadata: true });
  const metadata: Record<string, Metadata> = {};
  const tokens: TokenRecord[] = [];
  for (const ep of page.content) {
    metadata[ep.endpointId] = await h.services.registry.getMetadata(ep.endpointId, 'operator');
    tokens.push(...(await h.services.credentials.listTokens(ep.endpointId)));
  }
  // Connectivity fields move with any session; what an attacker must not change is the rest.
  const endpoints = page.content.map(
    ({ connected: _c, connectivityTs: _t, lastConnectedDate: _lc, lastDisconnectedDate: _ld, lastSeen: _l, ...rest }) => rest as EndpointRecord,
  );
  return { endpoints, metadata, tokens };
}

/** A raw TCP connection that collects what the server sends, for bytes no MQTT client would send. */
export class RawConnection {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  readonly packets: Array<{ cmd: string; [key: string]: unknown }> = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });

  private constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.parser.on('packet', (packet) => this.packets.push(packet as unknown as { cmd: string }));
    this.parser.on('error', () => {});
    this.socket.on('data', (chunk) => this.parser.parse(chunk));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<RawConnection> {
    const c = new RawConnection(port);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', () => resolve());
      c.socket.once('error', reject);
    });
    return c;
  }

  /** Opens a connection and completes CONNECT/CONNACK. */
  static async connected(port: number, clientId: string): Promise<RawConnection> {
    const c = await RawConnection.open(port);
    c.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 }));
    await waitFor('CONNACK', () => c.packets.some((p) => p.cmd === 'connack'));
    return c;
  }

  write(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes);
  }

  isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  close(): void {
    this.socket.destroy();
  }
}

export { mqttPacket };

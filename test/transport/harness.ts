import { connectAsync } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../../src/core/log.js';
import type { Services } from '../../src/core/services.js';
import type { Metadata } from '../../src/core/types.js';
import { createMqttServer } from '../../src/transport/index.js';
import type { MqttServer } from '../../src/transport/index.js';
import { DEMO_VERSION, createTestServices } from '../helpers/services.js';
import type { TestServices, TestServicesOptions } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

export { DEMO_APP, DEMO_VERSION } from '../helpers/services.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/** A Logger that keeps every record, so tests can check what was logged (and what never was). */
export function createRecordingLogger(records: LogRecord[] = [], bindings: Record<string, unknown> = {}): Logger & { records: LogRecord[] } {
  const at = (level: LogRecord['level']) => (obj: object, msg?: string) => {
    records.push({ level, fields: { ...bindings, ...obj }, msg });
  };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => createRecordingLogger(records, { ...bindings, ...more }),
  };
}

export interface Harness {
  services: TestServices;
  server: MqttServer;
  port: number;
  url: string;
  logs: LogRecord[];
  clients: MqttClient[];
  close(): Promise<void>;
}

/** MQTT server on 127.0.0.1:0 wired to real services over a temp SQLite file. */
export async function startHarness(options: TestServicesOptions & { wrapServices?: (services: Services) => Services } = {}): Promise<Harness> {
  const services = await createTestServices(options);
  const logger = createRecordingLogger();
  const server = createMqttServer({ services: options.wrapServices ? options.wrapServices(services) : services, bus: services.bus, logger, ...(options.clock && { clock: options.clock }) });
  let port: number;
  try {
    port = await server.listen(0, '127.0.0.1');
  } catch (err) {
    await server.close();
    await services.close();
    throw err;
  }
  const clients: MqttClient[] = [];
  return {
    services,
    server,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    logs: logger.records,
    clients,
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await server.close();
      await services.close();
    },
  };
}

/** A real mqtt@5 client (MQTT 3.1.1 unless told otherwise), closed by `harness.close()`. */
export async function connect(h: Harness, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(h.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  h.clients.push(client);
  return client;
}

export async function createEndpoint(
  h: Harness,
  metadata?: Metadata,
  appVersionName = DEMO_VERSION,
): Promise<{ endpointId: string; token: string; tokenId: string }> {
  const { endpoint, token, tokenRecord } = await h.services.registry.createEndpoint({ appVersionName, ...(metadata ? { metadata } : {}) });
  return { endpointId: endpoint.endpointId, token, tokenId: tokenRecord.tokenId };
}

export function kpTopic(token: string, resource: string, requestId?: number | string, appVersion = DEMO_VERSION, extension = 'epmx'): string {
  return `kp1/${appVersion}/${extension}/${token}/${resource}${requestId === undefined ? '' : `/${requestId}`}`;
}

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
}

/** Everything a client receives, with a way to wait for a topic. */
export class Inbox {
  readonly messages: Received[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload, qos: packet.qos }));
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async next(topic: string, what = topic): Promise<Received> {
    await waitFor(`a message on ${what}`, () => this.on(topic).length > 0);
    return this.on(topic)[0]!;
  }

  /** The first message on any of the topics, waited for with a deadline. */
  async nextOf(topics: string[], what = topics.join(' or ')): Promise<Received> {
    const find = () => this.messages.find((m) => topics.includes(m.topic));
    await waitFor(`a message on ${what}`, () => find() !== undefined, 5000);
    return find()!;
  }

  json(topic: string): unknown {
    const m = this.on(topic)[0];
    return m ? JSON.parse(m.payload.toString('utf8')) : undefined;
  }
}

/**
 * Sends a request with a request ID and waits for its `/status` or `/error` reply.
 * Resolves with which one arrived and its payload.
 */
export async function request(
  client: MqttClient,
  inbox: Inbox,
  topic: string,
  payload: string | Buffer,
  qos: 0 | 1 | 2 = 1,
): Promise<{ kind: 'status' | 'error'; payload: Buffer; qos: number; json(): unknown }> {
  await client.publishAsync(topic, payload, { qos });
  await waitFor(`a reply to ${topic}`, () => inbox.on(`${topic}/status`).length + inbox.on(`${topic}/error`).length > 0);
  const status = inbox.on(`${topic}/status`)[0];
  const m = status ?? inbox.on(`${topic}/error`)[0]!;
  return { kind: status ? 'status' : 'error', payload: m.payload, qos: m.qos, json: () => JSON.parse(m.payload.toString('utf8')) };
}

/** Token lookups that finish in reverse order of their calls, as a slow shared cache might. */
export function reversedLookups(services: Services): Services {
  let calls = 0;
  const credentials = services.credentials;
  return {
    ...services,
    credentials: {
      issueToken: (...args) => credentials.issueToken(...args),
      listTokens: (...args) => credentials.listTokens(...args),
      changeTokenStatus: (...args) => credentials.changeTokenStatus(...args),
      async resolveToken(applicationName, token) {
        const turns = Math.max(0, 60 - calls++);
        for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
        return credentials.resolveToken(applicationName, token);
      },
    },
  };
}

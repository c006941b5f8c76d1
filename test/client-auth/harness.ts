import { connectAsync } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { createClientAuth, createMqttClientAuth } from '../../src/client-auth/index.js';
import type { ClientAuthConfig, ClientAuthService } from '../../src/client-auth/index.js';
import type { DeclaredApplication } from '../../src/core/services.js';
import type { ClientCredentialStore } from '../../src/storage/storage.js';
import { createMqttServer } from '../../src/transport/index.js';
import type { MqttServer } from '../../src/transport/index.js';
import { createTestServices } from '../helpers/services.js';
import type { TestServices } from '../helpers/services.js';
import { createRecordingLogger } from '../transport/harness.js';
import type { LogRecord } from '../transport/harness.js';

export { Inbox, kpTopic, request } from '../transport/harness.js';

export const APPS: DeclaredApplication[] = [
  { name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx'] }] },
  { name: 'meters', versions: [{ name: 'meters_v1', extensions: ['epmx'] }] },
];

export interface AuthHarness {
  services: TestServices;
  store: ClientCredentialStore;
  clientAuth: ClientAuthService;
  server: MqttServer;
  port: number;
  url: string;
  logs: LogRecord[];
  clients: MqttClient[];
  close(): Promise<void>;
}

/** An MQTT server with client authentication over real services, a real SQLite file and a real port. */
export async function startAuthHarness(config?: ClientAuthConfig): Promise<AuthHarness> {
  const services = await createTestServices({ declare: APPS });
  const logger = createRecordingLogger();
  const store = await services.place.openCredentials();
  const clientAuth = createClientAuth({
    store, bus: services.bus, applications: services.applications, registry: services.registry, logger,
    ...(config !== undefined && { config }),
  });
  const server = createMqttServer({ services, bus: services.bus, logger, clientAuth: createMqttClientAuth(clientAuth, logger) });
  const port = await server.listen(0, '127.0.0.1');
  const clients: MqttClient[] = [];
  return {
    services, store, clientAuth, server, port, url: `mqtt://127.0.0.1:${port}`, logs: logger.records, clients,
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await server.close();
      clientAuth.close();
      await store.close();
      await services.close();
    },
  };
}

export async function connect(h: AuthHarness, options: IClientOptions = {}, url = h.url): Promise<MqttClient> {
  const client = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  h.clients.push(client);
  return client;
}

/** Connects expecting a refusal; resolves with the CONNACK return code the client got. */
export async function refusedCode(h: AuthHarness, options: IClientOptions = {}, url = h.url): Promise<number | undefined> {
  try {
    const client = await connect(h, options, url);
    await client.endAsync(true);
  } catch (err) {
    const e = err as Error & { code?: number };
    if (e.message !== 'Connection refused: Not authorized') throw err;
    return e.code;
  }
  throw new Error('the connection was accepted');
}

export async function endpoint(h: AuthHarness, appVersionName = 'demo_application_v1'): Promise<{ endpointId: string; token: string }> {
  const { endpoint: e, token } = await h.services.registry.createEndpoint({ appVersionName });
  return { endpointId: e.endpointId, token };
}

/** A real API server on port 0 over real services (SQLite temp file), and a small fetch client. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createApiServer, type ApiDeps } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/log.js';
import type { Accounts } from '../../src/accounts/index.js';
import { createTestAccounts } from '../helpers/accounts.js';
import { httpCall, type Reply as ApiResponse } from '../helpers/http.js';
import { createTestServices, type TestServices, type TestServicesOptions } from '../helpers/services.js';

export const API_KEY = 'test-admin-key-0123456789';

export interface ApiHarness {
  app: FastifyInstance;
  services: TestServices;
  accounts: Accounts;
  base: string;
  /** fetch with the admin key unless `headers.authorization` is given (use '' to send none). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  close(): Promise<void>;
}

export type { Reply as ApiResponse } from '../helpers/http.js';

/** Parts built over the test's services (the package service over its place), closed with the harness. */
export type ApiExtension = (services: TestServices) => Promise<{ deps: Partial<Omit<ApiDeps, 'services' | 'storage' | 'bus'>>; close(): Promise<void> }>;

export async function startApi(
  options: { services?: TestServicesOptions; api?: Partial<Omit<ApiDeps, 'services' | 'storage' | 'bus'>>; extend?: ApiExtension } = {},
): Promise<ApiHarness> {
  const services = await createTestServices(options.services);
  const accounts = await createTestAccounts(services);
  let app: FastifyInstance | undefined;
  let extension: Awaited<ReturnType<ApiExtension>> | undefined;
  try {
    extension = await options.extend?.(services);
    app = await createApiServer({
      services,
      storage: services.storage,
      bus: services.bus,
      logger: silentLogger,
      adminApiKey: API_KEY,
      accounts,
      ...extension?.deps,
      ...options.api,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await app?.close();
    await extension?.close();
    await accounts.closeAll();
    await services.close();
    throw err;
  }
  const server = app;
  const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

  function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const { authorization = `Bearer ${API_KEY}`, ...rest } = headers;
    // A string body goes out as JSON unless the test names another content type.
    const raw = typeof body === 'string' && rest['content-type'] === undefined ? JSON.stringify(body) : body;
    return httpCall(base, method, path, { auth: authorization, body: raw, headers: rest, ...(rest['content-type'] !== undefined && { contentType: rest['content-type'] }) });
  }

  return {
    app: server,
    services,
    accounts,
    base,
    call,
    async close() {
      await server.close();
      await extension?.close();
      await accounts.closeAll();
      await services.close();
    },
  };
}

/** Creates an endpoint in demo_application_v1 and returns its ID and token. */
export async function createEndpoint(api: ApiHarness, body: Record<string, unknown> = {}): Promise<{ endpointId: string; token: string }> {
  const res = await api.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' }, ...body });
  if (res.status !== 201) throw new Error(`create endpoint failed: ${res.status} ${res.text}`);
  return res.json;
}

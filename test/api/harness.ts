/** A real API server on port 0 over real services (SQLite temp file), and a small fetch client. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createApiServer, type ApiDeps } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/log.js';
import type { Accounts } from '../../src/accounts/index.js';
import { createTestAccounts } from '../helpers/accounts.js';
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

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function startApi(
  options: { services?: TestServicesOptions; api?: Partial<Omit<ApiDeps, 'services' | 'storage' | 'bus'>> } = {},
): Promise<ApiHarness> {
  const services = await createTestServices(options.services);
  const accounts = await createTestAccounts(services);
  let app: FastifyInstance | undefined;
  try {
    app = await createApiServer({
      services,
      storage: services.storage,
      bus: services.bus,
      logger: silentLogger,
      adminApiKey: API_KEY,
      accounts,
      ...options.api,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await app?.close();
    await accounts.closeAll();
    await services.close();
    throw err;
  }
  const server = app;
  const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const h: Record<string, string> = { authorization: `Bearer ${API_KEY}`, ...headers };
    if (h.authorization === '') delete h.authorization;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' && h['content-type'] !== undefined ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    return readResponse(await fetch(base + path, { method, headers: h, ...(payload !== undefined && { body: payload }) }));
  }

  return {
    app: server,
    services,
    accounts,
    base,
    call,
    async close() {
      await server.close();
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

/** The status, headers, body text and (when it parses) JSON of a fetch response. */
export async function readResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from '../helpers/test.js';
import { createApiServer } from '../../src/api/index.js';
import { createClientAuth } from '../../src/client-auth/index.js';
import type { ClientAuthService } from '../../src/client-auth/index.js';
import { runCli } from '../../src/cli/run.js';
import { silentLogger } from '../../src/core/log.js';
import { createTestServices } from '../helpers/services.js';
import { asJson, httpCall } from '../helpers/http.js';
import type { TestServices } from '../helpers/services.js';
import { APPS } from './harness.js';

const API_KEY = 'test-admin-key-0123456789';
const BASE = '/cm/api/v1/client-credentials';

interface Api {
  base: string;
  services: TestServices;
  clientAuth: ClientAuthService;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers of every shape
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }>;
  close(): Promise<void>;
}

async function startApi(): Promise<Api> {
  const services = await createTestServices({ declare: APPS });
  const store = await services.place.openCredentials();
  const clientAuth = createClientAuth({ store, bus: services.bus, applications: services.applications, registry: services.registry });
  const app = await createApiServer({ services, storage: services.storage, bus: services.bus, logger: silentLogger, adminApiKey: API_KEY, clientAuth });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    base,
    services,
    clientAuth,
    call: (method, path, body) => httpCall(base, method, path, { auth: API_KEY, body: asJson(body) }),
    async close() {
      await app.close();
      clientAuth.close();
      await store.close();
      await services.close();
    },
  };
}

test('REST: create (password shown once), list, get, suspend, reactivate, revoke, bind, delete', async () => {
  const api = await startApi();
  try {
    const created = await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'basic', username: 'gw-1' });
    assert.equal(created.status, 201);
    assert.equal(typeof created.json.password, 'string');
    assert.equal(created.json.status, 'ACTIVE');
    assert.equal(created.json.passwordHash, undefined);
    const id = created.json.credentialId as string;

    const supplied = await api.call('POST', BASE, { applicationName: 'meters', kind: 'basic', username: 'gw-2', password: 'chosen-password' });
    assert.equal(supplied.status, 201);
    assert.equal(supplied.json.password, undefined, 'a chosen password is not echoed');

    const listed = await api.call('GET', BASE);
    assert.deepEqual(listed.json.map((c: { username: string }) => c.username), ['gw-1', 'gw-2']);
    assert.ok(!listed.text.includes('scrypt'), 'no hash in listings');
    assert.ok(!listed.text.includes(created.json.password), 'no password in listings');
    assert.equal((await api.call('GET', `${BASE}?applicationName=meters`)).json.length, 1);
    assert.equal((await api.call('GET', `${BASE}/${id}`)).json.username, 'gw-1');

    assert.equal((await api.call('POST', `${BASE}/${id}/suspend`)).json.status, 'SUSPENDED');
    assert.equal((await api.call('POST', `${BASE}/${id}/reactivate`)).json.status, 'ACTIVE');
    assert.equal((await api.call('POST', `${BASE}/${id}/revoke`)).json.status, 'REVOKED');
    const again = await api.call('POST', `${BASE}/${id}/reactivate`);
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'CLIENT_CREDENTIAL_STATE_CONFLICT');

    const { endpoint } = await api.services.registry.createEndpoint({ appVersionName: 'demo_application_v1' });
    const bound = await api.call('PUT', `${BASE}/${id}/endpoints`, { endpoints: [endpoint.endpointId] });
    assert.deepEqual(bound.json.boundEndpoints, [endpoint.endpointId]);
    const foreign = await api.call('PUT', `${BASE}/${supplied.json.credentialId}/endpoints`, { endpoints: [endpoint.endpointId] });
    assert.equal(foreign.status, 400, 'an endpoint of another application cannot be bound');
    assert.equal((await api.call('PUT', `${BASE}/${id}/endpoints`, { endpoints: ['no-such-endpoint'] })).json.code, 'ENDPOINT_NOT_FOUND');

    assert.equal((await api.call('DELETE', `${BASE}/${id}`)).status, 204);
    const gone = await api.call('GET', `${BASE}/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.code, 'CLIENT_CREDENTIAL_NOT_FOUND');
  } finally {
    await api.close();
  }
});

test('REST: wrong input is refused with a message saying what to send', async () => {
  const api = await startApi();
  try {
    const taken = await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'basic', username: 'dup' });
    assert.equal(taken.status, 201);
    const dup = await api.call('POST', BASE, { applicationName: 'meters', kind: 'basic', username: 'dup' });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.code, 'CLIENT_CREDENTIAL_CONFLICT');
    assert.equal((await api.call('POST', BASE, { applicationName: 'nope', kind: 'basic', username: 'x1' })).json.code, 'APPLICATION_NOT_FOUND');
    assert.equal((await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'basic', username: 'x1', password: 'short' })).status, 400);
    assert.equal((await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'basic', username: 'has space' })).status, 400);
    const badPem = await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'x509', certificate: 'not a certificate' });
    assert.equal(badPem.json.code, 'CERTIFICATE_INVALID');
    const fp = await api.call('POST', BASE, { applicationName: 'demo_application', kind: 'x509', certificateFingerprint: 'AB:'.repeat(31) + 'AB' });
    assert.equal(fp.status, 201);
    assert.equal(fp.json.certificateFingerprint, 'ab'.repeat(32));
    const unauth = await fetch(`${api.base}${BASE}`);
    assert.equal(unauth.status, 401);
  } finally {
    await api.close();
  }
});

test('CLI: tether credentials create, list, suspend, reactivate, revoke, delete', async () => {
  const api = await startApi();
  try {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: { TETHER_API_KEY: API_KEY }, cwd: process.cwd() };
    const cli = async (...args: string[]) => {
      out.length = 0;
      err.length = 0;
      const code = await runCli(['credentials', ...args, '--api', api.base], io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    };

    const created = await cli('create', '--username', 'cli-gw', '--app', 'meters');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /Password: +\S{16,}/);
    assert.match(created.out, /shown only this once/);
    const id = /Credential ID: (\S+)/.exec(created.out)![1]!;

    const listed = await cli('list', '--app', 'meters');
    assert.match(listed.out, new RegExp(`${id}\\s+meters\\s+basic\\s+ACTIVE\\s+cli-gw`));
    assert.match((await cli('suspend', id)).out, /is now SUSPENDED/);
    assert.match((await cli('reactivate', id)).out, /is now ACTIVE/);
    assert.match((await cli('revoke', id)).out, /is now REVOKED/);
    const refused = await cli('suspend', id);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /cannot be suspended/);
    assert.match((await cli('delete', id)).out, /deleted/);
    assert.match((await cli('list')).out, /No client credentials/);

    const usage = await cli('create', '--app', 'meters');
    assert.equal(usage.code, 1);
    assert.match(usage.err, /exactly one of --username/);
  } finally {
    await api.close();
  }
});

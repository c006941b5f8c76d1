/** The dashboard's server side inside the real REST API, over real SQLite, via fastify inject and real sockets. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, test } from '../helpers/test.js';
import type { FastifyInstance } from 'fastify';
import type { Dashboard, DashboardDeps } from '../../src/dashboard/server/index.js';
import { DASHBOARD_PASSWORD as PASSWORD, dashboardInApi } from './api-harness.js';
import { waitFor } from '../helpers/wait.js';
import type { Accounts } from '../../src/accounts/index.js';
import { createTestAccounts } from '../helpers/accounts.js';
import { createTestClock, type TestClock } from '../helpers/clock.js';
import { createTestServices, DEMO_APP, DEMO_VERSION, type TestServices } from '../helpers/services.js';


interface Harness {
  services: TestServices;
  dashboard: Dashboard;
  app: FastifyInstance;
  clock: TestClock;
  webRoot: string;
  accounts: Accounts;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!();
});

async function harness({ services: given, ...options }: Partial<DashboardDeps> & { services?: TestServices } = {}): Promise<Harness> {
  const services = given ?? (await createTestServices());
  if (!given) open.push(() => services.close());
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-'));
  fs.mkdirSync(path.join(webRoot, 'assets'));
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>SPA</title>');
  fs.writeFileSync(path.join(webRoot, 'assets', 'app-123.js'), 'console.log(1)');
  fs.writeFileSync(path.join(webRoot, '..', `outside-${path.basename(webRoot)}.txt`), 'secret');
  open.push(async () => {
    fs.rmSync(webRoot, { recursive: true, force: true });
    fs.rmSync(path.join(webRoot, '..', `outside-${path.basename(webRoot)}.txt`), { force: true });
  });
  const clock = createTestClock(Date.now());
  const accounts = await createTestAccounts(services, { clock });
  open.push(() => accounts.closeAll());
  const { dashboard, app, close } = await dashboardInApi(services, accounts, webRoot, options);
  open.push(close);
  return { services, dashboard, app, clock, webRoot, accounts };
}

async function signIn(app: FastifyInstance, password = PASSWORD, username = 'admin') {
  return app.inject({ method: 'POST', url: '/dashboard/api/sign-in', payload: { username, password } });
}

function cookieOf(response: { headers: Record<string, unknown> }): string {
  const header = String(response.headers['set-cookie']);
  return header.split(';')[0]!;
}

test('sign-in sets an HttpOnly SameSite=Strict session cookie that the REST API accepts, sign-out ends it', async () => {
  const { app } = await harness();
  const signedOut = (await app.inject({ url: '/dashboard/api/me' })).json();
  assert.equal(signedOut.signedIn, false);
  assert.match(signedOut.hint, /npx tether admin reset-password/);
  assert.equal((await app.inject({ url: `/epr/api/v1/endpoints?applicationName=${DEMO_APP}` })).statusCode, 401);

  const response = await signIn(app);
  assert.equal(response.statusCode, 200);
  const setCookie = String(response.headers['set-cookie']);
  const [pair, ...attributes] = setCookie.split('; ');
  assert.match(pair!, /^tether_session=[A-Za-z0-9_-]{40,}$/);
  assert.deepEqual(attributes.map((a) => a.replace(/=\d+$/, '=N')).sort(), ['HttpOnly', 'Max-Age=N', 'Path=/', 'SameSite=Strict']);
  const cookie = cookieOf(response);

  assert.deepEqual((await app.inject({ url: '/dashboard/api/me', headers: { cookie } })).json(), { signedIn: true, username: 'admin', role: 'admin' });
  const list = await app.inject({ url: `/epr/api/v1/endpoints?applicationName=${DEMO_APP}`, headers: { cookie } });
  assert.equal(list.statusCode, 200);
  assert.equal(list.json().totalElements, 0);

  // A write with the cookie from another site is refused even if a browser sent the cookie.
  const crossSite = await app.inject({
    method: 'POST',
    url: '/epr/api/v1/endpoints',
    headers: { cookie, origin: 'https://evil.example', host: 'localhost:80' },
    payload: { appVersion: { name: DEMO_VERSION } },
  });
  assert.equal(crossSite.statusCode, 401);
  const sameSite = await app.inject({
    method: 'POST',
    url: '/epr/api/v1/endpoints',
    headers: { cookie, origin: 'http://localhost:80', host: 'localhost:80' },
    payload: { appVersion: { name: DEMO_VERSION } },
  });
  assert.equal(sameSite.statusCode, 201, sameSite.body);

  const out = await app.inject({ method: 'POST', url: '/dashboard/api/sign-out', headers: { cookie } });
  assert.equal(out.statusCode, 204);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  assert.equal((await app.inject({ url: `/epr/api/v1/endpoints?applicationName=${DEMO_APP}`, headers: { cookie } })).statusCode, 401);
});

test('dashboard routes answer errors on the REST API path: a body too large is 413, a sign-in from another site has its own code', async () => {
  const { app } = await harness();
  const large = await app.inject({ method: 'POST', url: '/dashboard/api/sign-in', payload: { username: 'admin', password: 'x'.repeat(1_100_000) } });
  assert.equal(large.statusCode, 413);
  assert.equal(large.json().code, 'PAYLOAD_TOO_LARGE');
  const notJson = await app.inject({ method: 'POST', url: '/dashboard/api/sign-in', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(notJson.json().code, 'PAYLOAD_NOT_JSON');
  const form = await app.inject({ method: 'POST', url: '/dashboard/api/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=admin' });
  assert.equal(form.statusCode, 415);
  assert.equal(form.json().code, 'UNSUPPORTED_MEDIA_TYPE');
  const crossSite = await app.inject({
    method: 'POST',
    url: '/dashboard/api/sign-in',
    headers: { origin: 'https://evil.example', host: 'localhost:80' },
    payload: { username: 'admin', password: PASSWORD },
  });
  assert.equal(crossSite.statusCode, 403);
  assert.equal(crossSite.json().code, 'CROSS_SITE_REQUEST');
});

test('the cookie is Secure when the server speaks TLS', async () => {
  const { app } = await harness({ secureCookies: true });
  assert.match(String((await signIn(app)).headers['set-cookie']), /; Secure(;|$)/);
});

test('wrong credentials are refused with a clear error; failures are throttled per account and address, and an admin can clear them', async () => {
  const { app, clock, accounts } = await harness();
  await accounts.users.create({ username: 'bob', role: 'viewer', password: 'bob-password-1' });
  const wrong = await signIn(app, 'not-the-password');
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().code, 'SIGN_IN_FAILED');
  assert.match(wrong.json().message, /npx tether admin reset-password/);
  assert.equal(wrong.headers['set-cookie'], undefined);
  assert.equal((await signIn(app, PASSWORD, 'root')).json().code, 'SIGN_IN_FAILED');
  for (let i = 0; i < 4; i++) await signIn(app, `guess-${i}`);

  const limited = await signIn(app);
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().code, 'RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) > 0);
  // Guessing at admin from this address does not lock out another account from it.
  const bob = await signIn(app, 'bob-password-1', 'bob');
  assert.equal(bob.statusCode, 200);

  // An admin (here with the API key) sees the block and clears it.
  const auth = { authorization: 'Bearer test-admin-key' };
  const blocked = (await app.inject({ url: '/api/v1/sign-in-throttles', headers: auth })).json();
  assert.deepEqual(blocked.map((b: { username: string }) => b.username), ['admin']);
  const bobCookie = cookieOf(bob);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/sign-in-throttles', headers: { cookie: bobCookie } })).statusCode, 403, 'a viewer cannot clear');
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/sign-in-throttles?username=admin', headers: auth })).statusCode, 204);
  assert.equal((await signIn(app)).statusCode, 200);

  for (let i = 0; i < 5; i++) await signIn(app, `guess-${i}`);
  assert.equal((await signIn(app)).statusCode, 429);
  clock.advance(15 * 60 * 1000);
  assert.equal((await signIn(app)).statusCode, 200);
});

test('without TETHER_ADMIN_PASSWORD a password is generated once and only its scrypt hash is stored', async () => {
  const services = await createTestServices();
  open.push(() => services.close());
  const first = await harness({ services, adminPassword: undefined as unknown as string });
  const generated = first.dashboard.generatedAdminPassword;
  assert.ok(generated && generated.length >= 16);
  const stored = (await first.accounts.store.getUser('admin'))!.passwordHash;
  assert.ok(!stored.includes(generated), 'the password itself is not stored');
  assert.match(stored, /"algorithm":"scrypt"/);
  assert.equal((await signIn(first.app, generated)).statusCode, 200);

  // A later start keeps the account (and ignores a new TETHER_ADMIN_PASSWORD).
  const second = await harness({ services, adminPassword: 'another-password' });
  assert.equal(second.dashboard.generatedAdminPassword, undefined);
  assert.equal((await signIn(second.app, generated)).statusCode, 200);
  assert.equal((await signIn(second.app, 'another-password')).statusCode, 401);
});

test('a session survives a restart on the same storage', async () => {
  const services = await createTestServices();
  open.push(() => services.close());
  const first = await harness({ services });
  const cookie = cookieOf(await signIn(first.app));
  const second = await harness({ services });
  assert.deepEqual((await second.app.inject({ url: '/dashboard/api/me', headers: { cookie } })).json(), { signedIn: true, username: 'admin', role: 'admin' });
});

test('widget columns and the creation form are validated and saved per application', async () => {
  const { app } = await harness();
  const cookie = cookieOf(await signIn(app));
  const widgetUrl = `/dashboard/api/applications/${DEMO_APP}/widget`;

  assert.equal((await app.inject({ url: widgetUrl })).statusCode, 401);
  assert.deepEqual((await app.inject({ url: widgetUrl, headers: { cookie } })).json(), { columns: [], pageSize: 20 });

  const columns = [
    { key: 'model', header: 'Model' },
    { key: 'mac', header: '  ' },
  ];
  const saved = await app.inject({ method: 'PUT', url: widgetUrl, headers: { cookie }, payload: { columns, pageSize: 50 } });
  assert.equal(saved.statusCode, 200, saved.body);
  const expected = { columns: [{ key: 'model', header: 'Model' }, { key: 'mac', header: 'mac' }], pageSize: 50 };
  assert.deepEqual(saved.json(), expected);
  assert.deepEqual((await app.inject({ url: widgetUrl, headers: { cookie } })).json(), expected);

  const badKey = await app.inject({ method: 'PUT', url: widgetUrl, headers: { cookie }, payload: { columns: [{ key: 'bad key', header: 'x' }] } });
  assert.equal(badKey.statusCode, 400);
  assert.equal(badKey.json().code, 'VALIDATION_FAILED');
  const twice = await app.inject({ method: 'PUT', url: widgetUrl, headers: { cookie }, payload: { columns: [columns[0], columns[0]] } });
  assert.equal(twice.statusCode, 400);
  assert.match(twice.json().message, /"model" appears twice/);
  const unknownApp = await app.inject({ url: '/dashboard/api/applications/no_such_app/widget', headers: { cookie } });
  assert.equal(unknownApp.statusCode, 404);
  assert.equal(unknownApp.json().code, 'APPLICATION_NOT_FOUND');

  const formUrl = `/dashboard/api/applications/${DEMO_APP}/form`;
  const fields = [{ key: 'meterDescription', label: 'Meter description', type: 'string', required: true }];
  assert.equal((await app.inject({ method: 'PUT', url: formUrl, headers: { cookie }, payload: { fields } })).statusCode, 200);
  assert.deepEqual((await app.inject({ url: formUrl, headers: { cookie } })).json(), { fields });
  const badType = await app.inject({ method: 'PUT', url: formUrl, headers: { cookie }, payload: { fields: [{ ...fields[0], type: 'date' }] } });
  assert.equal(badType.statusCode, 400);
});

test('server info names the public MQTT host, or the browser\'s host when listening on all interfaces', async () => {
  const named = await harness();
  const cookie = cookieOf(await signIn(named.app));
  assert.deepEqual((await named.app.inject({ url: '/dashboard/api/info', headers: { cookie } })).json(), { mqttHost: 'iot.example.com', mqttPort: 1883 });

  const wildcard = await harness({ publicHost: () => '0.0.0.0' });
  const cookie2 = cookieOf(await signIn(wildcard.app));
  const info = await wildcard.app.inject({ url: '/dashboard/api/info', headers: { cookie: cookie2, host: '192.168.1.20:8080' } });
  assert.deepEqual(info.json(), { mqttHost: '192.168.1.20', mqttPort: 1883 });
});

test('the SPA is served at / with a fallback for its pages, never for API paths or files outside it', async () => {
  const { app, webRoot } = await harness();
  const index = await app.inject({ url: '/' });
  assert.equal(index.statusCode, 200);
  assert.equal(index.body, '<!doctype html><title>SPA</title>');
  assert.match(String(index.headers['content-security-policy']), /script-src 'self'/);
  assert.equal((await app.inject({ url: '/endpoints/abc?app=demo_application' })).body, index.body);

  const asset = await app.inject({ url: '/assets/app-123.js' });
  assert.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.match(String(asset.headers['cache-control']), /immutable/);

  const missing = await app.inject({ url: '/assets/gone.js' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'NOT_FOUND');
  const api = await app.inject({ url: '/epr/api/v1/nothing-here', headers: { authorization: 'Bearer test-admin-key' } });
  assert.equal(api.statusCode, 404);
  assert.equal(api.json().code, 'NOT_FOUND');
  // Only the SPA's page paths fall back to it: a probe's typo is a JSON 404, never a 200 page.
  for (const url of ['/healthz-typo', '/metric', '/endpoints/a/b']) {
    const probe = await app.inject({ url });
    assert.equal(probe.statusCode, 404, url);
    assert.equal(probe.json().code, 'NOT_FOUND', url);
  }
  const traversal = await app.inject({ url: `/%2e%2e/outside-${path.basename(webRoot)}.txt` });
  assert.notEqual(traversal.body, 'secret');

  fs.rmSync(path.join(webRoot, 'index.html'));
  const notBuilt = await app.inject({ url: '/' });
  assert.equal(notBuilt.statusCode, 503);
  assert.match(notBuilt.body, /npm run build:dashboard/);
});

test('the live stream delivers the application\'s events and ends when the server closes', async () => {
  const h = await harness();
  await h.services.applications.createApplication({ name: 'other_app' });
  await h.services.applications.createVersion({ applicationName: 'other_app', name: 'other_app_v1', extensions: ['epmx'] });
  const cookie = cookieOf(await signIn(h.app));
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;

  assert.equal((await h.app.inject({ url: `/dashboard/api/events?applicationName=${DEMO_APP}` })).statusCode, 401);

  const received: string[] = [];
  let ended = false;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/dashboard/api/events?applicationName=${DEMO_APP}`, headers: { cookie } }, resolve).on('error', reject);
  });
  assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => received.push(chunk));
  response.on('end', () => (ended = true));
  response.on('close', () => (ended = true));

  // Wait until the stream is registered before producing events.
  await waitFor('the stream to be registered', () => received.join('').includes(': connected'));

  await h.services.registry.createEndpoint({ appVersionName: 'other_app_v1', endpointId: 'elsewhere' });
  const { endpoint } = await h.services.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: 'meter-1' });
  await h.services.registry.changeMetadata(endpoint.endpointId, { kind: 'merge', metadata: { model: 'A300' } }, 'operator');

  const events = () =>
    received
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; endpointId: string; metadata?: unknown });
  await waitFor('two events on the stream', () => events().length >= 2);
  assert.deepEqual(
    events().map((e) => [e.type, e.endpointId]),
    [
      ['endpoint.created', 'meter-1'],
      ['metadata.updated', 'meter-1'],
    ],
  );
  assert.deepEqual(events()[1]!.metadata, { model: 'A300' });

  await h.app.close();
  await waitFor('closing the server to end open streams', () => ended);
});

test('a live stream ends once its session is over or its API key is revoked, and cannot reopen', async () => {
  const h = await harness({ liveRecheckMs: 50 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const path = `/dashboard/api/events?applicationName=${DEMO_APP}`;

  /** Opens a stream; resolves with a function that tells whether the server has ended it. */
  async function openStream(headers: Record<string, string>): Promise<{ status: number; ended: () => boolean }> {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, headers }, resolve).on('error', reject);
    });
    let ended = false;
    response.resume();
    response.on('end', () => (ended = true));
    response.on('close', () => (ended = true));
    return { status: response.statusCode ?? 0, ended: () => ended };
  }

  const cookie = cookieOf(await signIn(h.app));
  const other = cookieOf(await signIn(h.app));
  const signedIn = await openStream({ cookie });
  const untouched = await openStream({ cookie: other });
  assert.equal(signedIn.status, 200);
  // Signed out (from another tab, or through another node): the stream ends; the other session's goes on.
  assert.equal((await h.app.inject({ method: 'POST', url: '/dashboard/api/sign-out', headers: { cookie } })).statusCode, 204);
  await waitFor('the signed-out stream to end', signedIn.ended);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(untouched.ended(), false, 'a stream of a valid session stays open');
  assert.equal((await openStream({ cookie })).status, 401);

  const created = await h.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { authorization: 'Bearer test-admin-key' }, payload: { name: 'wallboard', role: 'viewer' } });
  assert.equal(created.statusCode, 201, created.body);
  const { key, keyId } = created.json() as { key: string; keyId: string };
  const byKey = await openStream({ authorization: `Bearer ${key}` });
  assert.equal(byKey.status, 200);
  assert.equal((await h.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${keyId}`, headers: { authorization: 'Bearer test-admin-key' } })).statusCode, 200);
  await waitFor('the revoked key\'s stream to end', byKey.ended);
  assert.equal((await openStream({ authorization: `Bearer ${key}` })).status, 401);
});

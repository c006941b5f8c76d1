/** The dashboard settings behind the telemetry views: map tiles (and the CSP they open) and time-series list columns. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from '../helpers/test.js';
import type { FastifyInstance } from 'fastify';
import { DASHBOARD_PASSWORD as PASSWORD, dashboardInApi } from './api-harness.js';
import { tileImageSource } from '../../src/dashboard/server/map-settings.js';
import { createTestAccounts } from '../helpers/accounts.js';
import { createTestServices, DEMO_APP, type TestServices } from '../helpers/services.js';

let services: TestServices;
let closeServer: () => Promise<void>;
let app: FastifyInstance;
let webRoot: string;
let cookie: string;
let accounts: Awaited<ReturnType<typeof createTestAccounts>>;

async function start(): Promise<void> {
  accounts = await createTestAccounts(services);
  ({ app, close: closeServer } = await dashboardInApi(services, accounts, webRoot));
  const signedIn = await app.inject({ method: 'POST', url: '/dashboard/api/sign-in', payload: { username: 'admin', password: PASSWORD } });
  assert.equal(signedIn.statusCode, 200);
  cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
}

async function stop(): Promise<void> {
  await closeServer();
  await accounts.closeAll();
}

before(async () => {
  services = await createTestServices();
  webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-'));
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>SPA</title>');
  await start();
});

after(async () => {
  await stop();
  await services.close();
  fs.rmSync(webRoot, { recursive: true, force: true });
});

const imgSrc = async () => /img-src ([^;]*);/.exec(String((await app.inject({ url: '/' })).headers['content-security-policy']))?.[1];

test('map tiles are off by default; a saved tile URL opens img-src to its server only, survives a restart and can be cleared', async () => {
  assert.equal((await app.inject({ url: '/dashboard/api/map' })).statusCode, 401);
  assert.deepEqual((await app.inject({ url: '/dashboard/api/map', headers: { cookie } })).json(), { tileUrl: '', attribution: '' });
  assert.equal(await imgSrc(), "'self' data:");

  const tiles = { tileUrl: 'https://{s}.tiles.example.com/{z}/{x}/{y}.png', attribution: '© Example maps' };
  const saved = await app.inject({ method: 'PUT', url: '/dashboard/api/map', headers: { cookie }, payload: tiles });
  assert.equal(saved.statusCode, 200);
  assert.deepEqual(saved.json(), tiles);
  assert.equal(await imgSrc(), "'self' data: https://*.tiles.example.com");
  // Only the HTML page carries the policy; the other directives are untouched.
  assert.match(String((await app.inject({ url: '/' })).headers['content-security-policy']), /script-src 'self'; style-src 'self';.*connect-src 'self'/);

  await stop();
  await start();
  assert.deepEqual((await app.inject({ url: '/dashboard/api/map', headers: { cookie } })).json(), tiles);
  assert.equal(await imgSrc(), "'self' data: https://*.tiles.example.com");

  const cleared = await app.inject({ method: 'PUT', url: '/dashboard/api/map', headers: { cookie }, payload: { tileUrl: '' } });
  assert.deepEqual(cleared.json(), { tileUrl: '', attribution: '' });
  assert.equal(await imgSrc(), "'self' data:");
});

test('a tile URL that is not an http(s) template with {z}/{x}/{y} is refused with what to write instead', async () => {
  for (const tileUrl of ['javascript:alert(1)//{z}/{x}/{y}', 'https://tiles.example.com/tile.png', "https://evil.example; script-src *'/{z}/{x}/{y}", 'ftp://tiles.example.com/{z}/{x}/{y}.png']) {
    const response = await app.inject({ method: 'PUT', url: '/dashboard/api/map', headers: { cookie }, payload: { tileUrl } });
    assert.equal(response.statusCode, 400, tileUrl);
    assert.equal(response.json().code, 'VALIDATION_FAILED');
    assert.match(response.json().message, /\{z\}, \{x\} and \{y\}/);
  }
  assert.equal(tileImageSource('http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png'), 'http://127.0.0.1:8080');
  assert.equal(await imgSrc(), "'self' data:");
});

test('Endpoint List columns can show the latest value of a time series, whose names may hold ~', async () => {
  const url = `/dashboard/api/applications/${DEMO_APP}/widget`;
  const columns = [
    { key: 'model', header: 'Model' },
    { key: 'auto~temperature', header: 'Temperature', source: 'time-series' },
    { key: 'model', header: 'Model (series)', source: 'time-series' },
  ];
  const saved = await app.inject({ method: 'PUT', url, headers: { cookie }, payload: { columns } });
  assert.equal(saved.statusCode, 200, saved.body);
  assert.deepEqual((await app.inject({ url, headers: { cookie } })).json(), { columns, pageSize: 20 });

  const metadataTilde = await app.inject({ method: 'PUT', url, headers: { cookie }, payload: { columns: [{ key: 'auto~x', header: 'x' }] } });
  assert.equal(metadataTilde.statusCode, 400);
  assert.match(metadataTilde.json().message, /not a metadata key/);
  const twice = await app.inject({ method: 'PUT', url, headers: { cookie }, payload: { columns: [columns[1], columns[1]] } });
  assert.equal(twice.statusCode, 400);
  const badSource = await app.inject({ method: 'PUT', url, headers: { cookie }, payload: { columns: [{ key: 'x', header: 'x', source: 'sql' }] } });
  assert.equal(badSource.statusCode, 400);
});

test('unknown /epts/ paths answer a JSON 404, never the SPA page', async () => {
  const response = await app.inject({ url: '/epts/api/v1/no-such-route', headers: { cookie } });
  assert.equal(response.statusCode, 404);
  assert.match(String(response.headers['content-type']), /application\/json/);
});

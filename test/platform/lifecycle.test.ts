/** Start, stop, restart and start-up failures of the composition root. */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { isTetherError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { startTether } from '../../src/platform/tether.js';
import { api, createEndpoint, freePort, start, testConfig } from './helpers.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

test('restart on the same data dir keeps endpoints, metadata, tokens, app versions and the admin key', async (t) => {
  const dataDir = tempDir(t);
  const configFile = path.join(dataDir, 'tether.yaml');
  fs.writeFileSync(configFile, 'applications:\n  - name: meters\n    versions:\n      - name: meters_v1\n        extensions: [epmx]\n');
  const config = await testConfig(dataDir, ['--config', configFile]);

  const first = await startTether(config, { logger: silentLogger });
  let firstStopped = false;
  t.after(() => (firstStopped ? undefined : first.stop()));
  assert.equal(first.adminApiKeyGenerated, true);

  const { endpointId, token } = await createEndpoint(first, { metadata: { meterDescription: 'Kitchen' } });
  const issued = await api<{ tokenId: string; token: string }>(first, 'POST', `/cm/api/v1/endpoints/${endpointId}/tokens`, {});
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const suspended = await api(first, 'POST', `/cm/api/v1/endpoints/${endpointId}/tokens/${issued.body.tokenId}/suspend`);
  assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
  const version = await api(first, 'POST', '/api/v1/applications/meters/versions', { name: 'meters_v2', extensions: ['epmx'] });
  assert.equal(version.status, 201, JSON.stringify(version.body));

  // The device is still connected when the server stops: its last update must survive, and the
  // endpoint must not stay "connected" forever.
  const device = await connectAsync({ host: '127.0.0.1', port: first.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  device.on('error', () => {});
  t.after(() => device.end(true));
  await device.publishAsync(`kp1/demo_application_v1/epmx/${token}/update/keys`, '{"model":"MySmartMeter A300"}', { qos: 1 });
  await waitFor(
    'endpoint connected',
    async () => (await api<{ connected: boolean }>(first, 'GET', `/epr/api/v1/endpoints/${endpointId}`)).body.connected,
    { until: (connected) => connected },
  );
  await first.stop();
  firstStopped = true;
  await first.stop(); // idempotent

  const second = await start(t, config);
  assert.equal(second.adminApiKey, first.adminApiKey);
  assert.equal(second.adminApiKeyGenerated, false, 'the key is shown only on the first start');

  const endpoint = await api<{ connected: boolean; metadata: Record<string, unknown> }>(second, 'GET', `/epr/api/v1/endpoints/${endpointId}?include=metadata`);
  assert.equal(endpoint.status, 200);
  assert.deepEqual(endpoint.body.metadata, { meterDescription: 'Kitchen', model: 'MySmartMeter A300' });
  assert.equal(endpoint.body.connected, false);

  const tokens = await api<Array<{ tokenId: string; status: string }>>(second, 'GET', `/cm/api/v1/endpoints/${endpointId}/tokens`);
  assert.deepEqual(
    tokens.body.map((tk) => tk.status).sort(),
    ['ACTIVE', 'SUSPENDED'],
  );
  const versions = await api<Array<{ name: string }>>(second, 'GET', '/api/v1/applications/meters/versions');
  assert.deepEqual(versions.body.map((v) => v.name).sort(), ['meters_v1', 'meters_v2']);

  // The old token still works after the restart.
  const again = await connectAsync({ host: '127.0.0.1', port: second.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => again.end(true));
  const topic = `kp1/demo_application_v1/epmx/${token}/update/keys/5`;
  await again.subscribeAsync([`${topic}/status`, `${topic}/error`]);
  const reply = new Promise<string>((resolve) => again.once('message', (tp) => resolve(tp)));
  await again.publishAsync(topic, '{"fw":"2"}', { qos: 0 });
  assert.equal(await reply, `${topic}/status`);
});

test('the admin API key file is created with mode 0600 and an API key from the environment is never written', async (t) => {
  const dataDir = tempDir(t);
  const running = await start(t, await testConfig(dataDir));
  const file = path.join(dataDir, 'admin-api-key');
  assert.equal(fs.readFileSync(file, 'utf8').trim(), running.adminApiKey);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(running.adminApiKey.length >= 32);
  await running.stop();

  const otherDir = tempDir(t);
  const key = 'configured-admin-key-0123456789';
  const configured = await start(t, await testConfig(otherDir, [], { TETHER_ADMIN_API_KEY: key }));
  assert.equal(configured.adminApiKey, key);
  assert.equal(configured.adminApiKeyGenerated, false);
  assert.equal(fs.existsSync(path.join(otherDir, 'admin-api-key')), false);
  assert.equal((await api(configured, 'GET', '/epr/api/v1/endpoints')).status, 200);
  const wrong = await fetch(`http://127.0.0.1:${configured.httpPort}/epr/api/v1/endpoints`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
});

async function startFailure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isTetherError(err), `expected a TetherError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'));
    return { code: err.code, message: err.message };
  }
  assert.fail('expected startTether to reject');
}

async function occupy(t: { after(fn: () => unknown): void }): Promise<number> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return (blocker.address() as net.AddressInfo).port;
}

async function canListen(port: number): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

test('an MQTT port in use is a one-line error naming --mqtt-port, and nothing stays open', async (t) => {
  const dataDir = tempDir(t);
  const busy = await occupy(t);
  const httpPort = await freePort();
  const failure = await startFailure(startTether(await testConfig(dataDir, ['--mqtt-port', String(busy), '--http-port', String(httpPort)]), { logger: silentLogger }));
  assert.equal(failure.code, 'PORT_IN_USE');
  assert.equal(failure.message, `MQTT port ${busy} is in use. Start with --mqtt-port <port> (or TETHER_MQTT_PORT).`);

  // What was opened before the failure was closed: the same data dir starts cleanly.
  const running = await start(t, await testConfig(dataDir));
  assert.equal((await api(running, 'GET', '/epr/api/v1/endpoints')).status, 200);
});

test('an HTTP port in use is a one-line error naming --http-port, and the MQTT port is released', async (t) => {
  const dataDir = tempDir(t);
  const busy = await occupy(t);
  const mqttPort = await freePort();
  const failure = await startFailure(startTether(await testConfig(dataDir, ['--mqtt-port', String(mqttPort), '--http-port', String(busy)]), { logger: silentLogger }));
  assert.equal(failure.code, 'PORT_IN_USE');
  assert.equal(failure.message, `HTTP port ${busy} is in use. Start with --http-port <port> (or TETHER_HTTP_PORT).`);
  assert.equal(await canListen(mqttPort), true, 'the MQTT listener was closed');
});

test('a data dir that cannot be created is a one-line error naming --data-dir', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, '');
  const failure = await startFailure(startTether(await testConfig(path.join(file, 'data')), { logger: silentLogger }));
  assert.equal(failure.code, 'DATA_DIR_UNUSABLE');
  assert.match(failure.message, /--data-dir <dir> \(or TETHER_DATA_DIR\)/);
});

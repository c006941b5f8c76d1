/** TLS listeners of a whole Tether: certificate reload, start errors, HTTPS serving the same app, /ws refusals. */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { WebSocket } from 'ws';
import { isTetherError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { startTether } from '../../src/platform/tether.js';
import { api, createEndpoint, start, testConfig } from '../platform/helpers.js';
import { generateTestPki } from '../helpers/certs.js';
import { httpsGet, serverFingerprint, startSecure, testPki, tlsFlags } from './setup.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

/** startTether must reject with a one-line TetherError; resolves with its message. */
async function startError(config: Parameters<typeof startTether>[0]): Promise<string> {
  try {
    const running = await startTether(config, { logger: silentLogger });
    await running.stop();
  } catch (err) {
    assert.ok(isTetherError(err), `a TetherError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail('start should have failed');
}

test('TLS is off unless a certificate and key are configured: no TLS listeners, reload is a no-op', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  assert.equal(running.mqttsPort, undefined);
  assert.equal(running.httpsPort, undefined);
  assert.equal(await running.reloadTls(), undefined);
});

test('reloadTls: new connections get the new certificate, open sessions keep working, a bad file keeps the old one', async (t) => {
  const dir = tempDir(t);
  // A CA of this test's own, so that issuing the renewed certificate touches no other test's files.
  const pki = generateTestPki(dir);
  const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
  fs.copyFileSync(pki.server.cert, live.cert);
  fs.copyFileSync(pki.server.key, live.key);
  const running = await start(t, await testConfig(path.join(dir, 'data'), tlsFlags(live)));
  const ca = pki.ca.certPem;
  const fingerprint = (port: number) => serverFingerprint(port, ca);
  const original = await fingerprint(running.mqttsPort!);

  const { token } = await createEndpoint(running);
  const device = await connectAsync(`mqtts://127.0.0.1:${running.mqttsPort}`, { protocolVersion: 4, reconnectPeriod: 0, ca });
  t.after(() => device.end(true));
  const topic = `kp1/demo_application_v1/epmx/${token}/update/keys`;
  const replies: string[] = [];
  device.on('message', (replyTopic) => replies.push(replyTopic.slice(topic.length + 1)));

  // The certificate is renewed on disk (same paths, as certbot or cert-manager do), then SIGHUP.
  const renewed = pki.issueServer('renewed');
  fs.copyFileSync(renewed.cert, live.cert);
  fs.copyFileSync(renewed.key, live.key);
  assert.equal(await fingerprint(running.mqttsPort!), original, 'files alone change nothing until the reload');
  const info = await running.reloadTls();
  assert.ok(info);
  assert.match(info.subject, /CN=localhost/);
  assert.notEqual(info.fingerprint256, original);
  assert.equal(await fingerprint(running.mqttsPort!), info.fingerprint256, 'MQTT over TLS: new certificate');
  assert.equal(await fingerprint(running.httpsPort!), info.fingerprint256, 'HTTPS (and WSS): new certificate');

  // The session opened before the reload still works.
  await device.publishAsync(`${topic}/1`, '{"fw":"1.0"}', { qos: 1 });
  assert.deepEqual(await waitFor('reply on the old session', async () => replies, { until: (r) => r.length > 0 }), ['1/status']);

  // A broken key: the reload fails with a line naming the setting, and the renewed certificate stays.
  fs.writeFileSync(live.key, 'not a key\n');
  await assert.rejects(running.reloadTls(), (err: unknown) => {
    assert.ok(isTetherError(err));
    assert.equal(err.code, 'TLS_INVALID');
    assert.match(err.message, /--tls-key/);
    return true;
  });
  assert.equal(await fingerprint(running.mqttsPort!), info.fingerprint256);
  // A key of another certificate is caught too (OpenSSL would otherwise fail at the first handshake).
  fs.copyFileSync(pki.client.key, live.key);
  await assert.rejects(running.reloadTls(), /does not belong to the certificate from --tls-cert/);
  assert.equal(await fingerprint(running.httpsPort!), info.fingerprint256);
});

test('a TLS file that cannot be read fails the start with one line naming the flag', async (t) => {
  const dir = tempDir(t);
  const pki = testPki();
  const missingCert = await startError(await testConfig(dir, tlsFlags({ cert: path.join(dir, 'nope.crt'), key: pki.server.key })));
  assert.match(missingCert, /^TLS certificate file ".*nope\.crt" cannot be read: the file does not exist\. Point --tls-cert \(or TETHER_TLS_CERT\)/);
  const missingCa = await startError(await testConfig(dir, tlsFlags({ ...pki.server, ca: path.join(dir, 'ca.pem') })));
  assert.match(missingCa, /--tls-ca/);
  fs.writeFileSync(path.join(dir, 'garbage.crt'), 'hello\n');
  const notPem = await startError(await testConfig(dir, tlsFlags({ cert: path.join(dir, 'garbage.crt'), key: pki.server.key })));
  assert.match(notPem, /--tls-cert .* cannot be used: it holds no PEM certificate/);
  const mismatch = await startError(await testConfig(dir, tlsFlags({ cert: pki.server.cert, key: pki.client.key })));
  assert.match(mismatch, /private key from --tls-key .* does not belong to the certificate from --tls-cert/);
});

test('a TLS port in use fails the start with one line naming its flag', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const busy = (blocker.address() as net.AddressInfo).port;
  const dir = tempDir(t);
  const files = testPki().server;

  const mqtts = await startError(await testConfig(dir, [...tlsFlags(files), '--mqtts-port', String(busy)]));
  assert.equal(mqtts, `MQTT over TLS port ${busy} is in use. Start with --mqtts-port <port> (or TETHER_MQTTS_PORT).`);
  const https = await startError(await testConfig(dir, [...tlsFlags(files), '--https-port', String(busy)]));
  assert.equal(https, `HTTPS port ${busy} is in use. Start with --https-port <port> (or TETHER_HTTPS_PORT).`);
  // The failed starts closed what they had opened: a normal start on the same data dir works.
  const running = await start(t, await testConfig(dir, tlsFlags(files)));
  assert.ok(running.mqttsPort! > 0);
});

test('HTTPS serves the same app as HTTP: dashboard, OpenAPI and the REST API with its key', async (t) => {
  const running = await startSecure(t, tempDir(t));
  const { endpointId } = await createEndpoint(running);
  const openapi = await httpsGet(running.httpsPort!, '/api/openapi.json');
  assert.equal(openapi.status, 200);
  assert.ok((JSON.parse(openapi.body) as { paths: object }).paths);
  const unauthorized = await httpsGet(running.httpsPort!, `/epr/api/v1/endpoints/${endpointId}`);
  assert.equal(unauthorized.status, 401);
  const endpoint = await httpsGet(running.httpsPort!, `/epr/api/v1/endpoints/${endpointId}`, { authorization: `Bearer ${running.adminApiKey}` });
  assert.equal(endpoint.status, 200);
  assert.equal((JSON.parse(endpoint.body) as { endpointId: string }).endpointId, endpointId);
  // And the plain port is unchanged.
  assert.equal((await api(running, 'GET', `/epr/api/v1/endpoints/${endpointId}`)).status, 200);
  assert.equal(await serverFingerprint(running.httpsPort!), await serverFingerprint(running.mqttsPort!), 'one certificate for both');
});

test('WebSocket upgrades: only /ws, only the MQTT subprotocols; a client offering none is served', async (t) => {
  const running = await startSecure(t, tempDir(t));
  const outcome = (route: string, protocols: string[]) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${running.httpPort}${route}`, protocols);
      ws.on('open', () => {
        resolve(`open ${ws.protocol}`);
        ws.terminate();
      });
      ws.on('unexpected-response', (_request, response) => {
        resolve(`refused ${response.statusCode}`);
        ws.terminate();
      });
      ws.on('error', () => {});
    });
  assert.equal(await outcome('/ws', ['mqtt']), 'open mqtt');
  assert.equal(await outcome('/ws', ['mqttv3.1']), 'open mqttv3.1');
  assert.equal(await outcome('/ws?client=1', []), 'open ');
  assert.equal(await outcome('/ws', ['chat']), 'refused 400');
  assert.equal(await outcome('/mqtt', ['mqtt']), 'refused 404');
});

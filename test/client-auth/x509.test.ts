import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { setPeer, tlsPeer } from '../../src/transport/peer.js';
import { generateTestPki } from '../helpers/certs.js';
import type { TestPki } from '../helpers/certs.js';
import { Inbox, connect, endpoint, kpTopic, refusedCode, request, startAuthHarness } from './harness.js';
import type { AuthHarness } from './harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Mutual TLS in front of the MQTT core, as the TLS listener does it: the client certificate is
 * requested and verified against the CA, and a failed verification reaches client authentication
 * (which refuses with CONNACK 5 and says why) instead of failing the handshake.
 */
async function withMutualTls(pki: TestPki, h: AuthHarness): Promise<{ url: string; close(): Promise<void> }> {
  const server = tls.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false, allowHalfOpen: true });
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    setPeer(socket, tlsPeer(socket, 'tls'));
    h.server.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtts://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function tlsOptions(pki: TestPki, client?: { certPem: string; keyPem: string }) {
  return { ca: pki.ca.certPem, rejectUnauthorized: true, ...(client && { cert: client.certPem, key: client.keyPem }) };
}

function selfSigned(dir: string): { certPem: string; keyPem: string } {
  execFileSync(fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2', '-subj', '/CN=rogue',
  ], { cwd: dir, stdio: 'ignore' });
  return { certPem: fs.readFileSync(path.join(dir, 'rogue.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(dir, 'rogue.key'), 'utf8') };
}

test('x509: a registered certificate connects; unknown, foreign-CA, missing and revoked ones get CONNACK 5', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  const h = await startAuthHarness({ mode: 'x509' });
  const pki = generateTestPki(dir);
  const front = await withMutualTls(pki, h);
  try {
    const { credential } = await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'x509', certificate: pki.client.certPem });
    assert.match(credential.certificateFingerprint ?? '', /^[0-9a-f]{64}$/);
    assert.match(credential.certificateSubject ?? '', /CN=tether-test-device/);

    const { token } = await endpoint(h);
    const device = await connect(h, tlsOptions(pki, pki.client), front.url);
    const inbox = new Inbox(device);
    await device.subscribeAsync(`${kpTopic(token, 'update/keys')}/#`);
    assert.equal((await request(device, inbox, kpTopic(token, 'update/keys', 1), '{"a":1}')).kind, 'status');

    const stranger = pki.issueClient('stranger', 'stranger-device');
    assert.equal(await refusedCode(h, tlsOptions(pki, stranger), front.url), 5);
    assert.equal(await refusedCode(h, tlsOptions(pki, selfSigned(dir)), front.url), 5);
    assert.equal(await refusedCode(h, tlsOptions(pki), front.url), 5);
    // Plain TCP carries no certificate at all.
    assert.equal(await refusedCode(h), 5);

    await h.clientAuth.changeStatus(credential.credentialId, 'revoke');
    await waitFor('the revoked certificate\'s session ended', () => !device.connected);
    assert.equal(await refusedCode(h, tlsOptions(pki, pki.client), front.url), 5);

    const reasons = h.logs.filter((r) => r.msg?.startsWith('client authentication failed')).map((r) => r.fields['reason']);
    assert.deepEqual(reasons, ['unknown client certificate', 'invalid client certificate', 'no client certificate', 'no client certificate', 'revoked']);
  } finally {
    await front.close();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('x509 per application: anonymous globally, an x509 application accepts only its certificates', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  const h = await startAuthHarness({ mode: 'anonymous', applications: { meters: 'x509' } });
  const pki = generateTestPki(dir);
  const front = await withMutualTls(pki, h);
  try {
    await h.clientAuth.createCredential({ applicationName: 'meters', kind: 'x509', certificate: pki.client.certPem });
    const meter = await endpoint(h, 'meters_v1');
    const topic = (id: number) => kpTopic(meter.token, 'update/keys', id, 'meters_v1');

    const anonymous = await connect(h);
    const anonInbox = new Inbox(anonymous);
    // Not even its responses: subscribing needs the same right as requesting.
    await assert.rejects(anonymous.subscribeAsync(`${kpTopic(meter.token, 'update/keys', undefined, 'meters_v1')}/#`));
    const refused = await request(anonymous, anonInbox, topic(1), '{"a":1}');
    assert.equal((refused.json() as { statusCode: number }).statusCode, 401);

    const device = await connect(h, tlsOptions(pki, pki.client), front.url);
    const inbox = new Inbox(device);
    await device.subscribeAsync(`${kpTopic(meter.token, 'update/keys', undefined, 'meters_v1')}/#`);
    assert.equal((await request(device, inbox, topic(2), '{"a":1}')).kind, 'status');
  } finally {
    await front.close();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

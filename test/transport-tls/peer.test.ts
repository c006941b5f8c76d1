/**
 * Mutual TLS: the client certificate (and whether it verified) travels with the stream to the MQTT
 * layer, where client authentication receives it with the CONNECT.
 */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connectAsync } from 'mqtt';
import type { IClientOptions } from 'mqtt';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import type { MqttClientAuth } from '../../src/client-auth/index.js';
import { silentLogger } from '../../src/core/log.js';
import type { Services } from '../../src/core/services.js';
import { TlsCredentials, attachMqttWebSocket, createMqttServer, listenHttps, listenMqttTls } from '../../src/transport/index.js';
import type { TlsFiles, TransportPeer } from '../../src/transport/index.js';
import { generateTestPki } from '../helpers/certs.js';
import { testPki } from './setup.js';
import { tempDir } from '../helpers/tmp.js';

const SETTINGS = {
  cert: { flag: '--tls-cert', env: 'TETHER_TLS_CERT' },
  key: { flag: '--tls-key', env: 'TETHER_TLS_KEY' },
  ca: { flag: '--tls-ca', env: 'TETHER_TLS_CA' },
};

type Transport = 'tls' | 'wss' | 'ws';

/**
 * Tether's MQTT core whose client authentication records the peer each CONNECT arrives with, behind
 * one transport listener on a free port. No services: the probe only connects.
 */
async function startProbe(t: { after(fn: () => unknown): void }, transport: Transport, files: TlsFiles) {
  const seen: Array<TransportPeer | undefined> = [];
  const recorder: MqttClientAuth = {
    authenticate: async (_session, _username, _password, peer) => {
      seen.push(peer as TransportPeer | undefined);
    },
    ended: () => {},
    sessionsToEnd: () => [],
    admit: () => {},
  };
  const server = createMqttServer({ services: {} as Services, bus: createMemoryBus(), logger: silentLogger, extensions: [], clientAuth: recorder });
  t.after(() => server.close());
  const handle = server.handle;
  if (transport === 'ws') {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    attachMqttWebSocket({ server, handle, secure: false, logger: silentLogger });
    t.after(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { seen, url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws` };
  }
  const credentials = await TlsCredentials.load(files, SETTINGS, silentLogger);
  if (transport === 'tls') {
    const listening = await listenMqttTls({ credentials, handle, port: 0, host: '127.0.0.1', logger: silentLogger });
    t.after(() => listening.close());
    return { seen, url: `mqtts://127.0.0.1:${listening.port}` };
  }
  const listening = await listenHttps({
    credentials,
    handler: (_request, response) => response.writeHead(404).end(),
    like: http.createServer(),
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
  });
  attachMqttWebSocket({ server: listening.server, handle, secure: true, logger: silentLogger });
  t.after(() => listening.close());
  return { seen, url: `wss://127.0.0.1:${listening.port}/ws` };
}

async function peerSeen(t: { after(fn: () => unknown): void }, transport: Transport, files: TlsFiles, client: IClientOptions = {}): Promise<TransportPeer | undefined> {
  const probe = await startProbe(t, transport, files);
  const mqtt = await connectAsync(probe.url, { protocolVersion: 4, reconnectPeriod: 0, ca: testPki().ca.certPem, ...client });
  await mqtt.endAsync();
  assert.equal(probe.seen.length, 1);
  return probe.seen[0];
}

const withCa = () => ({ ...testPki().server, ca: testPki().ca.cert });
const clientCert = () => ({ cert: testPki().client.certPem, key: testPki().client.keyPem });

for (const transport of ['tls', 'wss'] as const) {
  test(`${transport}: a client certificate signed by tls.ca is presented and verified`, async (t) => {
    const peer = await peerSeen(t, transport, withCa(), clientCert());
    assert.ok(peer?.certificate);
    assert.equal(peer.transport, transport);
    assert.equal(peer.certificate.subject.CN, 'tether-test-device');
    assert.equal(peer.authorized, true);
    assert.equal(peer.authorizationError, undefined);
    assert.equal(peer.remoteAddress, '127.0.0.1');
  });

  test(`${transport}: without a client certificate the handshake still succeeds; the MQTT layer decides`, async (t) => {
    const peer = await peerSeen(t, transport, withCa());
    assert.deepEqual({ ...peer, remoteAddress: undefined }, { transport, remoteAddress: undefined, certificate: undefined, authorized: false, authorizationError: undefined });
  });

  test(`${transport}: a certificate from another CA is seen but not authorized, with the reason`, async (t) => {
    const stranger = generateTestPki(tempDir(t)).client;
    const peer = await peerSeen(t, transport, withCa(), { cert: stranger.certPem, key: stranger.keyPem });
    assert.equal(peer?.certificate?.subject.CN, 'tether-test-device');
    assert.equal(peer.authorized, false);
    assert.match(peer.authorizationError ?? '', /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  });

  test(`${transport}: without tls.ca no client certificate is asked for`, async (t) => {
    const peer = await peerSeen(t, transport, testPki().server, clientCert());
    assert.equal(peer?.transport, transport);
    assert.equal(peer.certificate, undefined);
    assert.equal(peer.authorized, false);
  });
}

test('ws: the peer says plain WebSocket, with no certificate', async (t) => {
  const peer = await peerSeen(t, 'ws', testPki().server);
  assert.deepEqual({ ...peer }, { transport: 'ws', remoteAddress: '127.0.0.1', certificate: undefined, authorized: false, authorizationError: undefined });
});

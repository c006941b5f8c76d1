import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpOk } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { openFeed, startTestCluster } from './harness.js';

/**
 * Three `tether start` processes on one PostgreSQL and one NATS, as an operator runs them:
 * a device on node 1, a token revoked through node 2's REST ends its session there, node 3's
 * live feed shows node 1's device, node 1 SIGKILLed: the device's endpoint goes disconnected
 * (a survivor notices the lapsed lease), it reconnects to node 2 and every acknowledged update is
 * stored. Every wait has a deadline; the whole test is bounded by the timeout below.
 */
const ADMIN_API_KEY = 'cluster-test-admin-key-0123456789';
const ADMIN_PASSWORD = 'cluster-test-password';
const APP_VERSION = 'demo_application_v1';

function api<T>(node: TetherNode, method: string, route: string, body?: unknown): Promise<T> {
  return httpOk<T>(node, method, route, { auth: ADMIN_API_KEY, body: asJson(body) });
}


interface Device {
  client: MqttClient;
  acked: number;
  sent: number;
  closed: boolean;
}

async function connectDevice(port: number, clientId: string): Promise<Device> {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, clientId });
  const device: Device = { client, acked: 0, sent: 0, closed: false };
  client.on('error', () => undefined);
  client.on('close', () => (device.closed = true));
  return device;
}

/** Sends `update/keys` {seq} with QoS 1, one after another, while the connection lasts; `acked` is the highest seq PUBACKed. */
function pump(device: Device, token: string, startSeq: number, stopAt: () => boolean): Promise<void> {
  const topic = `kp1/${APP_VERSION}/epmx/${token}/update/keys`;
  let seq = startSeq;
  return (async () => {
    while (!device.closed && !stopAt()) {
      seq++;
      device.sent = seq;
      const ok = await new Promise<boolean>((resolve) => {
        const done = (result: boolean) => {
          clearTimeout(timer);
          device.client.off('close', onClose);
          resolve(result);
        };
        const onClose = () => done(false);
        const timer = setTimeout(() => done(false), 5000);
        device.client.once('close', onClose);
        device.client.publish(`${topic}/${seq}`, JSON.stringify({ seq }), { qos: 1 }, (err) => done(!err));
      });
      if (!ok) return;
      device.acked = Math.max(device.acked, seq);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
}

// Longer than the 30 s default: three Tether processes, one of them SIGKILLed and restarted.
test('three nodes, one platform: revoke across nodes, live feed across nodes, a SIGKILLed node loses nothing acknowledged', { timeout: 180_000 }, async (t) => {
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-cluster-' });
  const { start, nodes } = cluster;
  // The first node migrates the schema; the others find it ready.
  const node1 = await start(1);
  const [node2, node3] = await Promise.all([start(2), start(3)]);

  for (const node of [node1, node2, node3]) {
    const ready = await fetch(`http://127.0.0.1:${node.httpPort}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { storage: 'ok', bus: 'ok' });
  }

  const feed = await openFeed(node3, ADMIN_PASSWORD);
  t.after(() => feed.close());

  // Endpoints created through node 2 are used on node 1: one storage.
  const main = await api<{ endpointId: string; token: string }>(node2, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } });
  const doomed = await api<{ endpointId: string; token: string }>(node2, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } });

  // A device on node 1 shows up online in node 3's live feed.
  const device = await connectDevice(node1.mqttPort, 'device-main');
  let pumping = pump(device, main.token, 0, () => false);
  await waitFor('first updates acknowledged by node 1', () => device.acked >= 3, 15_000);
  await waitFor("node 3's feed to show node 1's device online", () => feed.events.some((e) => e.type === 'connectivity.changed' && e.endpointId === main.endpointId && e.connected === true), 15_000);
  await waitFor("node 3's feed to show node 1's device's updates", () => feed.events.some((e) => e.type === 'metadata.updated' && e.endpointId === main.endpointId), 15_000);

  // A token revoked through node 2's REST ends the session on node 1.
  const other = await connectDevice(node1.mqttPort, 'device-doomed');
  await pump(other, doomed.token, 0, () => other.acked >= 1);
  assert.equal(other.acked, 1);
  const tokens = await api<{ content?: Array<{ tokenId: string }> } | Array<{ tokenId: string }>>(node2, 'GET', `/cm/api/v1/endpoints/${doomed.endpointId}/tokens`);
  const tokenId = (Array.isArray(tokens) ? tokens : tokens.content ?? [])[0]!.tokenId;
  await api(node2, 'POST', `/cm/api/v1/endpoints/${doomed.endpointId}/tokens/${tokenId}/revoke`);
  await waitFor('the session on node 1 to end after the revoke on node 2', () => other.closed, 15_000);

  // Node 1 dies without a word. Everything it acknowledged is stored.
  await waitFor('more updates acknowledged by node 1', () => device.acked >= 20, 20_000);
  await node1.stop('SIGKILL');
  nodes.splice(nodes.indexOf(node1), 1);
  await pumping;
  const ackedByNode1 = device.acked;
  const stored = await api<{ metadata: { seq: number } }>(node3, 'GET', `/epr/api/v1/endpoints/${main.endpointId}?include=metadata`);
  assert.ok(stored.metadata.seq >= ackedByNode1, `stored seq ${stored.metadata.seq} >= acknowledged ${ackedByNode1}`);

  // A survivor notices the lapsed lease: the endpoint goes disconnected within 30 s, seen from node 3.
  const killedAt = Date.now();
  await waitFor('the endpoint to go disconnected', () => feed.events.some((e) => e.type === 'connectivity.changed' && e.endpointId === main.endpointId && e.connected === false), 30_000);
  t.diagnostic(`disconnected ${Date.now() - killedAt} ms after SIGKILL`);
  assert.equal((await api<{ connected: boolean }>(node2, 'GET', `/epr/api/v1/endpoints/${main.endpointId}`)).connected, false);

  // The device reconnects to node 2 and goes on; its endpoint is connected again.
  const again = await connectDevice(node2.mqttPort, 'device-main');
  again.acked = device.acked;
  const onlineBefore = feed.events.filter((e) => e.type === 'connectivity.changed' && e.endpointId === main.endpointId && e.connected === true).length;
  pumping = pump(again, main.token, device.sent, () => again.acked >= device.sent + 10);
  await pumping;
  await waitFor(
    'the endpoint to be connected again (through node 2)',
    () => feed.events.filter((e) => e.type === 'connectivity.changed' && e.endpointId === main.endpointId && e.connected === true).length > onlineBefore,
    15_000,
  );
  const endpoint = await api<{ connected: boolean; metadata: { seq: number } }>(node3, 'GET', `/epr/api/v1/endpoints/${main.endpointId}?include=metadata`);
  assert.equal(endpoint.connected, true);
  assert.equal(endpoint.metadata.seq, again.acked, 'the last acknowledged update is the stored one');

  // Takeover across nodes: the same client ID connecting to node 3 ends its session on node 2.
  const moved = await connectDevice(node3.mqttPort, 'device-main');
  await waitFor('the session on node 2 to end when its client ID connects to node 3', () => again.closed, 15_000);
  assert.equal(moved.closed, false);

  // Operations: liveness, metrics labelled by node, and no dashboard page for unknown paths.
  const health = await fetch(`http://127.0.0.1:${node2.httpPort}/healthz`);
  // /healthz also names the node's MQTT port (issue 18: a client at the wrong port is told the right one).
  assert.deepEqual(await health.json(), { status: 'ok', node: 'node-2', mqttPort: node2.mqttPort });
  const metrics = await (await fetch(`http://127.0.0.1:${node2.httpPort}/metrics`)).text();
  const sample = (name: string, labels: string[]) =>
    metrics.split('\n').find((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)) && line.includes('node="node-2"'));
  assert.match(sample('tether_storage_commit_seconds_count', ['outcome="committed"']) ?? '', / [1-9]\d*$/);
  assert.match(sample('tether_bus_events_total', ['type="metadata.updated"', 'direction="published"']) ?? '', / [1-9]\d*$/);
  assert.match(sample('tether_bus_events_total', ['type="session.started"', 'direction="received"']) ?? '', / [1-9]\d*$/);
  const unknown = await fetch(`http://127.0.0.1:${node2.httpPort}/metricz`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { code: string }).code, 'NOT_FOUND');

  // Deleting the endpoint through node 2 ends its session on node 3 (once the session speaks for it).
  const last = again.acked;
  await pump(moved, main.token, last, () => moved.acked > last);
  assert.equal(moved.acked, last + 1);
  await api(node2, 'DELETE', `/epr/api/v1/endpoints/${main.endpointId}`).catch(async () => {
    // 204 has no JSON body: check the status directly.
    const response = await fetch(`http://127.0.0.1:${node2.httpPort}/epr/api/v1/endpoints/${main.endpointId}`, { headers: { authorization: `Bearer ${ADMIN_API_KEY}` } });
    assert.equal(response.status, 404);
  });
  await waitFor('the session on node 3 to end after the endpoint was deleted on node 2', () => moved.closed, 15_000);
});

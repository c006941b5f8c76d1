import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpCall } from '../helpers/http.js';
import { waitFor, within } from '../helpers/wait.js';
import { startTestCluster } from './harness.js';

/**
 * Commands (11/CEP) and configurations (7/CMP) across two `tether start` processes on one
 * PostgreSQL and one NATS: what an operator sends through node A reaches a device connected to
 * node B, the device's result answers the REST call waiting on node A, and a command sent while
 * the device was offline reaches it on whichever node it comes back to. The device is a plain MQTT
 * 3.1.1 client that never subscribes (as Kaa's Python client): pushes reach it all the same.
 */
const ADMIN_API_KEY = 'cluster-control-admin-key-0123456789';
const ADMIN_PASSWORD = 'cluster-control-password';
const APP_VERSION = 'demo_application_v1';

async function api(node: TetherNode, method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await httpCall(node, method, route, { auth: ADMIN_API_KEY, body: asJson(body), timeoutMs: 15_000 });
  assert.ok(reply.status >= 200 && reply.status < 300, `${method} ${route} on ${node.nodeId}: ${reply.status} ${reply.text}`);
  return { status: reply.status, body: (reply.json ?? {}) as Record<string, unknown> };
}

interface Device {
  client: MqttClient;
  messages: Array<{ topic: string; payload: unknown }>;
}

/** A device on `node` that never subscribes; it records every message the server sends it. */
async function connectDevice(node: TetherNode, clientId: string): Promise<Device> {
  const client = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, clientId });
  const device: Device = { client, messages: [] };
  client.on('error', () => undefined);
  client.on('message', (topic, payload) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      parsed = payload.toString('utf8');
    }
    device.messages.push({ topic, payload: parsed });
  });
  return device;
}

/** QoS 1: resolves once the server acknowledged (for a result: stored it). */
async function publish(device: Device, topic: string, payload: unknown): Promise<void> {
  await within(`PUBACK for ${topic.split('/').slice(2, 3).concat(topic.split('/').slice(4)).join('/')}`, device.client.publishAsync(topic, JSON.stringify(payload), { qos: 1 }), 10_000);
}

/** The first message on `topic` after index `from` of the device's log. */
function messageOn(device: Device, topic: string, from = 0): Promise<unknown> {
  return waitFor(`a message on ${topic.replace(/\/[^/]+\/(command|result|config)/, '/<token>/$1')}`, () => device.messages.slice(from).find((m) => m.topic === topic)?.payload, { until: (payload) => payload !== undefined, timeoutMs: 15_000 });
}

test('two nodes: a command and a configuration sent through node A reach a device on node B; a command sent while it was offline reaches it on node A', { timeout: 180_000 }, async (t) => {
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-cluster-control-' });
  const nodeA = await cluster.start(1);
  const nodeB = await cluster.start(2);

  const { body: endpoint } = await api(nodeA, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } });
  const endpointId = endpoint.endpointId as string;
  const token = endpoint.token as string;
  const base = `kp1/${APP_VERSION}`;

  // The device shows its token to node B with one request; from then on node B holds its channel.
  const device = await connectDevice(nodeB, 'control-device');
  t.after(() => device.client.endAsync(true).catch(() => undefined));
  await publish(device, `${base}/epmx/${token}/update/keys/1`, { firmware: '1.0' });

  // A command POSTed to node A waits there for the result the device gives node B.
  const posted = api(nodeA, 'POST', `/cex/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=5`, { delay: 3 });
  const pushed = (await messageOn(device, `${base}/cex/${token}/command/reboot/status`)) as Array<{ id: number; payload: unknown }>;
  assert.equal(pushed.length, 1);
  assert.deepEqual(pushed[0]!.payload, { delay: 3 });
  await publish(device, `${base}/cex/${token}/result/reboot`, [{ id: pushed[0]!.id, statusCode: 200, payload: { ok: true } }]);
  const answer = await posted;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.status, 'EXECUTED');
  assert.equal(answer.body.commandId, String(pushed[0]!.id));
  assert.equal(answer.body.statusCode, 200);
  assert.deepEqual(answer.body.responsePayload, { ok: true });

  // A configuration PUT on node A is pushed by node B.
  const mark = device.messages.length;
  const { body: stored } = await api(nodeA, 'PUT', `/ecr/api/v1/endpoints/${endpointId}/app-versions/${APP_VERSION}`, { mode: 'eco' });
  const config = (await messageOn(device, `${base}/cmx/${token}/config/json/status`, mark)) as { configId: string; config: unknown };
  assert.deepEqual(config, { configId: stored.configId, config: { mode: 'eco' } });

  // The device leaves node B; a command sent meanwhile waits in the shared store.
  await within('disconnecting from node B', device.client.endAsync(), 10_000);
  const offline = await api(nodeB, 'POST', `/cex/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=0`, { delay: 9 });
  assert.equal(offline.status, 202);
  assert.equal(offline.body.status, 'PENDING');

  // It comes back on node A: its first request opens the channel there and the command goes out.
  const moved = await connectDevice(nodeA, 'control-device');
  t.after(() => moved.client.endAsync(true).catch(() => undefined));
  await publish(moved, `${base}/epmx/${token}/update/keys/2`, { firmware: '1.1' });
  const delivered = (await messageOn(moved, `${base}/cex/${token}/command/reboot/status`)) as Array<{ id: number; payload: unknown }>;
  assert.deepEqual(delivered, [{ id: Number(offline.body.commandId), payload: { delay: 9 } }]);
  await publish(moved, `${base}/cex/${token}/result/reboot`, [{ id: delivered[0]!.id, statusCode: 200, payload: { ok: 'again' } }]);
  // The result is stored before the PUBACK: node B reads it at once.
  const { body: finished } = await api(nodeB, 'GET', `/cex/api/v1/endpoints/${endpointId}/commands/reboot/${offline.body.commandId as string}`);
  assert.equal(finished.status, 'EXECUTED');
  assert.deepEqual(finished.responsePayload, { ok: 'again' });
});

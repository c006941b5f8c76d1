import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpCall } from '../helpers/http.js';
import { waitFor, within } from '../helpers/wait.js';
import { startTestCluster } from './harness.js';

/**
 * A rollout across two `tether start` processes on one PostgreSQL and one NATS: created through
 * node A (which drives it), its devices connected to node B get the version pushed and report
 * there; when node A stops, node B takes the rollout over and finishes it (docs/rollouts.md,
 * "Across nodes").
 */
const ADMIN_API_KEY = 'cluster-rollouts-admin-key-0123456789';
const APP_VERSION = 'demo_application_v1';

async function api<T = Record<string, unknown>>(node: TetherNode, method: string, route: string, body?: unknown): Promise<T> {
  const reply = await httpCall(node, method, route, { auth: ADMIN_API_KEY, body: asJson(body), timeoutMs: 15_000 });
  assert.ok(reply.status >= 200 && reply.status < 300, `${method} ${route} on ${node.nodeId}: ${reply.status} ${reply.text}`);
  return reply.json as T;
}

interface RolloutView {
  state: string;
  reason: string | null;
  counts: Record<string, number>;
}

// Longer than the 30 s default: two Tether processes, and a takeover that waits for node B's next claim (≤ 10 s).
test('two nodes: a rollout created on node A reaches devices on node B; when A stops, B takes it over and completes it', { timeout: 150_000 }, async (t) => {
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: 'cluster-rollouts-password', prefix: 'tether-cluster-rollouts-' });
  const nodeA = await cluster.start(1);
  const nodeB = await cluster.start(2);
  await api(nodeA, 'POST', '/otao/api/v1/applications/demo_application/software', { version: '1.2.0', upgradableFrom: ['1.1.x'], specification: { url: 'https://example.com/fw.bin' } });

  const endpoints: Array<{ endpointId: string; token: string }> = [];
  for (let i = 0; i < 3; i++) {
    const created = await api<{ endpointId: string; token: string }>(nodeA, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } });
    endpoints.push(created);
    // A device on node B that never subscribes: it reports 1.1.0, and applies whatever is pushed.
    const client = await connectAsync(`mqtt://127.0.0.1:${nodeB.mqttPort}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, clientId: `rollout-device-${i}` });
    t.after(() => client.endAsync(true).catch(() => undefined));
    client.on('error', () => undefined);
    const base = `kp1/${APP_VERSION}/cmx_ota/${created.token}`;
    client.on('message', (topic, payload) => {
      if (topic !== `${base}/config/json/status`) return;
      const { configId } = JSON.parse(payload.toString('utf8')) as { configId?: string };
      if (configId) void client.publishAsync(`${base}/applied/json`, JSON.stringify({ configId }), { qos: 1 }).catch(() => undefined);
    });
    await within('the report of 1.1.0', client.publishAsync(`${base}/applied/json`, JSON.stringify({ configId: '1.1.0' }), { qos: 1 }), 10_000);
  }

  // One device every 10 s: the first goes at once (through node A, which drives it).
  const created = await api<{ rolloutId: string }>(nodeA, 'POST', '/otao/api/v1/applications/demo_application/rollouts', {
    version: '1.2.0',
    target: { endpointIds: endpoints.map((e) => e.endpointId) },
    rate: { perMinute: 6 },
  });
  const path = `/otao/api/v1/rollouts/${created.rolloutId}`;
  await waitFor('the first device to apply 1.2.0 through node B', () => api<RolloutView>(nodeB, 'GET', path), { until: (r) => r.counts['applied'] === 1, timeoutMs: 15_000 });

  // Node A stops (releasing its lease); node B claims the rollout at its next claim and finishes it.
  await nodeA.stop('SIGTERM');
  const done = await waitFor('node B to finish the rollout', () => api<RolloutView>(nodeB, 'GET', path), { until: (r) => r.state === 'completed', timeoutMs: 60_000, intervalMs: 250 });
  assert.deepEqual(done.counts, { pending: 0, offered: 0, applied: 3, failed: 0, timed_out: 0, skipped: 0 });
  assert.equal(done.reason, 'completed: 3 applied, 0 failed');
  assert.doesNotMatch(nodeB.output(), /"level":(50|60)/, `node B logged an error:\n${nodeB.output()}`);
});

/**
 * Data collection on a PostgreSQL cluster: two nodes in this process, on one database and one NATS
 * (each node with its own pool and bus connection, so node B hears node A only through them). A
 * device's 2/DCP batch on node A is replied to, stored once, readable over EPTS on node B, and its
 * live event reaches node B's bus. Every wait has a deadline.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { TetherEvent } from '../../src/bus/bus.js';
import { silentLogger } from '../../src/core/log.js';
import { type RunningTether, startTether } from '../../src/platform/tether.js';
import { freshDatabase, sharedNats } from '../helpers/engines.js';
import { api, createEndpoint, testConfig } from '../platform/helpers.js';
import { waitFor } from '../helpers/wait.js';

type Series = Array<Record<string, Record<string, Array<{ timestamp: string; values: Record<string, unknown> }>>>>;

// Longer than the 30 s default: it starts two Tether processes and their PostgreSQL and NATS.
test('PostgreSQL cluster: a DCX batch on node A gets its /status, and node B serves the point over EPTS and hears it live', { timeout: 120_000 }, async (t) => {
  const [database, natsUrl] = await Promise.all([freshDatabase(), sharedNats()]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ts-cluster-'));
  const nodes: RunningTether[] = [];
  t.after(async () => {
    for (const node of nodes) await node.stop();
    await database.drop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });
  const env = { TETHER_ADMIN_API_KEY: 'ts-cluster-test-admin-key-0123456789', TETHER_ADMIN_PASSWORD: 'ts-cluster-test-password' };
  const start = async (id: string) => {
    const config = await testConfig(path.join(root, id), ['--database-url', database.url, '--nats-url', natsUrl, '--node-id', id], env);
    const node = await startTether(config, { logger: silentLogger });
    nodes.push(node);
    return node;
  };
  // The first node migrates the time series schema; the second finds it ready.
  const nodeA = await start('node-a');
  const nodeB = await start('node-b');
  assert.equal(nodeB.timeSeries.storage.kind, 'postgres');
  const heardOnB: TetherEvent[] = [];
  const unsubscribe = nodeB.bus.subscribe((event) => heardOnB.push(event));
  t.after(unsubscribe);

  const { endpointId, token } = await createEndpoint(nodeA);
  const client = await connectAsync({ host: '127.0.0.1', port: nodeA.mqttPort, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
  t.after(() => client.end(true));
  const replies: string[] = [];
  client.on('message', (topic) => replies.push(topic));
  const timestamp = Date.UTC(2026, 11, 1, 2, 0, 0);
  const topic = `kp1/demo_application_v1/dcx/${token}/json/42`;
  await client.publishAsync(topic, JSON.stringify([{ timestamp, temperature: 98 }]), { qos: 1 });
  await waitFor('the /status reply from node A', async () => replies, { until: (r) => r.length > 0, timeoutMs: 10_000 });
  assert.deepEqual(replies, [`${topic}/status`]);

  const query = `endpointId=${endpointId}&timeSeriesName=auto~temperature&fromDate=${new Date(timestamp - 60_000).toISOString()}&toDate=${new Date(timestamp + 60_000).toISOString()}`;
  const data = await api<Series>(nodeB, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?${query}`);
  assert.equal(data.status, 200, JSON.stringify(data.body));
  assert.deepEqual(data.body, [{ [endpointId]: { 'auto~temperature': [{ timestamp: new Date(timestamp).toISOString(), values: { value: 98 } }] } }]);
  const config = await api<Record<string, Array<{ name: string }>>>(nodeB, 'GET', '/epts/api/v1/time-series/config?applicationNames=demo_application');
  assert.ok(config.body['demo_application']!.some((s) => s.name === 'auto~temperature'));

  await waitFor(
    "node A's live event on node B's bus",
    async () => heardOnB.filter((e) => e.type === 'time-series.appended' && e.endpointId === endpointId),
    { until: (events) => events.some((e) => e.type === 'time-series.appended' && e.latest['auto~temperature']?.values['value'] === 98), timeoutMs: 10_000 },
  );
});

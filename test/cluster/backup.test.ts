import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpCall } from '../helpers/http.js';
import { freshDatabase, sharedNats } from '../helpers/engines.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor, within } from '../helpers/wait.js';
import { startTestCluster } from './harness.js';

/**
 * The PostgreSQL backup docs/operations.md describes: `pg_dump` of the database a node uses (taken
 * while it runs), `pg_restore` into a fresh database, a node started on that: the device connects
 * with its old token and gets the command that was pending, and the configuration, the data point,
 * the metadata and the user are all there.
 */
const ADMIN_API_KEY = 'backup-test-admin-key-0123456789';
const ADMIN_PASSWORD = 'backup-test-password';
const APP_VERSION = 'demo_application_v1';
const run = promisify(execFile);

function pgBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const version = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)).find((v) => fs.existsSync(path.join(root, v, 'bin', tool)));
  if (!version) throw new Error(`${tool} not found under ${root}/<version>/bin: apt-get install postgresql-client`);
  return path.join(root, version, 'bin', tool);
}

async function api(node: TetherNode, method: string, route: string, body?: unknown, auth: string = ADMIN_API_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await httpCall(node, method, route, { auth, body: asJson(body), timeoutMs: 15_000 });
  assert.ok(reply.status >= 200 && reply.status < 300, `${method} ${route} on ${node.nodeId}: ${reply.status} ${reply.text}`);
  return { status: reply.status, body: (reply.json ?? {}) as Record<string, unknown> };
}

// Longer than the 30 s default: two Tether processes, a dump and a restore.
test('PostgreSQL: pg_dump of a running node restored into a fresh database serves the device with its old token and its pending command', { timeout: 120_000 }, async (t) => {
  const [source, target, natsUrl] = await Promise.all([freshDatabase(), freshDatabase(), sharedNats()]);
  t.after(() => Promise.all([source.drop(), target.drop()]).then(() => undefined));
  const dumpDir = tempDir(t, 'tether-pg-dump-');

  const before = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-backup-a-', engines: { databaseUrl: source.url, natsUrl } });
  const nodeA = await before.start(1);
  const { body: endpoint } = await api(nodeA, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION }, metadata: { site: 'north' } });
  const endpointId = endpoint.endpointId as string;
  const token = endpoint.token as string;
  const base = `kp1/${APP_VERSION}`;
  const timestamp = Date.UTC(2026, 11, 1, 2, 0, 0);
  const device = await connectAsync(`mqtt://127.0.0.1:${nodeA.mqttPort}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, clientId: 'backup-device' });
  await within('the data point acknowledged', device.publishAsync(`${base}/dcx/${token}/json/1`, JSON.stringify([{ timestamp, temperature: 21 }]), { qos: 1 }), 10_000);
  await within('disconnecting', device.endAsync(), 10_000);
  const { body: config } = await api(nodeA, 'PUT', `/ecr/api/v1/endpoints/${endpointId}/app-versions/${APP_VERSION}`, { mode: 'eco' });
  const pending = await api(nodeA, 'POST', `/cex/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=0`, { delay: 7 });
  assert.equal(pending.body.status, 'PENDING');
  await api(nodeA, 'POST', '/api/v1/users', { username: 'alice', role: 'operator', password: 'alice-password-1' });

  // The backup, taken while the node runs (pg_dump reads one consistent snapshot); then the node goes.
  const dump = path.join(dumpDir, 'tether.dump');
  await run(pgBin('pg_dump'), ['--format=custom', '--file', dump, '--dbname', source.url], { timeout: 60_000 });
  await nodeA.stop('SIGTERM');
  await run(pgBin('pg_restore'), ['--no-owner', '--exit-on-error', '--dbname', target.url, dump], { timeout: 60_000 });

  const after = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-backup-b-', engines: { databaseUrl: target.url, natsUrl } });
  const nodeB = await after.start(1);

  // The device connects with its old token; its first request opens its channel and the pending command goes out.
  const back = await connectAsync(`mqtt://127.0.0.1:${nodeB.mqttPort}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, clientId: 'backup-device' });
  t.after(() => back.endAsync(true).catch(() => undefined));
  const messages: Array<{ topic: string; payload: unknown }> = [];
  // Empty payloads (a success status without a body) are kept as ''.
  back.on('message', (topic, payload) => messages.push({ topic, payload: payload.length > 0 ? (JSON.parse(payload.toString('utf8')) as unknown) : '' }));
  await within('an update with the old token acknowledged', back.publishAsync(`${base}/epmx/${token}/update/keys/2`, JSON.stringify({ firmware: '2.0' }), { qos: 1 }), 10_000);
  const command = await waitFor('the pending command on the restored node', () => messages.find((m) => m.topic === `${base}/cex/${token}/command/reboot/status`)?.payload, { until: (p) => p !== undefined, timeoutMs: 15_000 });
  assert.deepEqual((command as Array<{ payload: unknown }>).map((c) => c.payload), [{ delay: 7 }]);

  const restored = await api(nodeB, 'GET', `/epr/api/v1/endpoints/${endpointId}?include=metadata`);
  assert.deepEqual(restored.body.metadata, { site: 'north', firmware: '2.0' });
  const { body: restoredConfig } = await api(nodeB, 'GET', `/ecr/api/v1/endpoints/${endpointId}/app-versions/${APP_VERSION}`);
  assert.equal(restoredConfig.configId, config.configId);
  const query = `endpointId=${endpointId}&timeSeriesName=auto~temperature&fromDate=${new Date(timestamp - 60_000).toISOString()}&toDate=${new Date(timestamp + 60_000).toISOString()}`;
  const series = await httpCall(nodeB, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?${query}`, { auth: ADMIN_API_KEY });
  assert.deepEqual(series.json, [{ [endpointId]: { 'auto~temperature': [{ timestamp: new Date(timestamp).toISOString(), values: { value: 21 } }] } }]);
  const signIn = await httpCall(nodeB, 'POST', '/dashboard/api/sign-in', { body: asJson({ username: 'alice', password: 'alice-password-1' }) });
  assert.equal(signIn.status, 200, signIn.text);
});

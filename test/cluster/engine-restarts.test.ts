import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpOk } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startTestCluster } from './harness.js';
import { ownNats, ownPostgres } from './own-engines.js';

/**
 * PostgreSQL and NATS restarted under two nodes serving devices, as a minor upgrade or a failover
 * does: no node dies, devices keep their sessions, `/readyz` says 503 while an engine is away and 200
 * soon after it returns, and every update a node acknowledged is stored. Timings go to diagnostics
 * (docs/operations.md records them), never into assertions.
 */
const ADMIN_API_KEY = 'restart-test-admin-key-0123456789';
const ADMIN_PASSWORD = 'restart-test-password';
const APP_VERSION = 'demo_application_v1';
// 40 in `npm test`; docs/operations.md's numbers were measured with TETHER_TEST_RESTART_DEVICES=100.
const DEVICES = Number(process.env['TETHER_TEST_RESTART_DEVICES'] ?? 40);

function api<T>(node: TetherNode, method: string, route: string, body?: unknown): Promise<T> {
  return httpOk<T>(node, method, route, { auth: ADMIN_API_KEY, body: asJson(body) });
}

interface Device {
  client: MqttClient;
  endpointId: string;
  token: string;
  protocol: 4 | 5;
  /** Keys of the updates the node acknowledged (PUBACK with a success code). */
  acked: Set<string>;
  refused: number;
  /** Connections that ended (none should: nodes keep sessions while the database is away). */
  closes: number;
}

async function connectDevice(node: TetherNode, i: number, endpoint: { endpointId: string; token: string }): Promise<Device> {
  // Half the devices speak MQTT 5 (a failure reason code), half 3.1.1 (the PUBACK is withheld and
  // the connection stays; the update is not stored, and the device may send it again).
  const protocol = Math.floor(i / 2) % 2 ? 5 : 4;
  const client = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: protocol, clean: protocol === 5, reconnectPeriod: 300, connectTimeout: 10_000, clientId: `dev-${i}` });
  const device: Device = { client, ...endpoint, protocol, acked: new Set(), refused: 0, closes: 0 };
  client.on('error', () => undefined);
  client.on('close', () => device.closes++);
  return device;
}

/** QoS 1 `update/keys/<seq>` with a key of its own per update, one after another, until `stop()`. */
async function pump(device: Device, stop: () => boolean): Promise<void> {
  const topic = `kp1/${APP_VERSION}/epmx/${device.token}/update/keys`;
  for (let seq = 1; !stop(); seq++) {
    const key = `k${seq}`;
    const ok = await new Promise<boolean>((resolve) => {
      // A withheld PUBACK may come after a reconnect, or not at all: after 3 s the update counts as not
      // acknowledged (the test never counts an acknowledgement it did not see).
      const timer = setTimeout(() => resolve(false), 3000);
      device.client.publish(`${topic}/${seq}`, JSON.stringify({ [key]: seq }), { qos: 1 }, (err) => {
        clearTimeout(timer);
        resolve(!err);
      });
    });
    if (ok) device.acked.add(key);
    else device.refused++;
    await new Promise((r) => setTimeout(r, ok ? 50 : 200));
  }
}

interface ReadySample {
  at: number;
  status: number;
  body: string;
}

/** Polls `/readyz` every 200 ms until `stop()`. */
function watchReady(node: TetherNode, stop: () => boolean): { samples: ReadySample[]; done: Promise<void> } {
  const samples: ReadySample[] = [];
  const done = (async () => {
    while (!stop()) {
      const at = Date.now();
      try {
        const response = await fetch(`http://127.0.0.1:${node.httpPort}/readyz`, { signal: AbortSignal.timeout(3000) });
        samples.push({ at, status: response.status, body: await response.text() });
      } catch (err) {
        samples.push({ at, status: 0, body: String(err) });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { samples, done };
}

/** Counts the lines a node writes (stdout and stderr). */
function countLines(node: TetherNode): { lines: number; sample: string[] } {
  const counter = { lines: 0, sample: [] as string[] };
  const count = (chunk: Buffer) => {
    const text = chunk.toString();
    counter.lines += text.split('\n').length - 1;
    if (counter.sample.length < 200) counter.sample.push(...text.split('\n').filter(Boolean).map((l) => l.slice(0, 200)));
  };
  node.child.stdout.on('data', count);
  node.child.stderr.on('data', count);
  return counter;
}

function alive(node: TetherNode): boolean {
  return node.child.exitCode === null && node.child.signalCode === null;
}

// Longer than the 30 s default: two nodes, 40 devices, PostgreSQL stopped twice (fast, immediate).
test('PostgreSQL stopped and started under load: nodes survive, say not ready, resume, and lose nothing acknowledged', { timeout: 120_000 }, async (t) => {
  const [postgres, nats] = await Promise.all([ownPostgres(), ownNats()]);
  t.after(() => Promise.all([postgres.dispose(), nats.dispose()]).then(() => undefined));
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-pg-restart-', engines: { databaseUrl: postgres.url, natsUrl: nats.url } });
  const node1 = await cluster.start(1);
  const node2 = await cluster.start(2);
  const nodes = [node1, node2];

  const endpoints = await Promise.all(Array.from({ length: DEVICES }, () => api<{ endpointId: string; token: string }>(node1, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } })));
  const devices = await Promise.all(endpoints.map((e, i) => connectDevice(nodes[i % 2]!, i, e)));
  let stopping = false;
  t.after(() => {
    stopping = true;
  });
  const pumps = devices.map((d) => pump(d, () => stopping));
  const watchers = nodes.map((n) => watchReady(n, () => stopping));
  const logs = nodes.map(countLines);
  await waitFor('every device to have an update acknowledged', () => devices.every((d) => d.acked.size > 0), 20_000);

  for (const mode of ['fast', 'immediate'] as const) {
    const ackedBefore = devices.reduce((n, d) => n + d.acked.size, 0);
    const linesBefore = logs.map((l) => l.lines);
    const refusedBefore = devices.reduce((n, d) => n + d.refused, 0);
    const stoppedAt = Date.now();
    await postgres.stop(mode);
    await waitFor(`both nodes to answer 503 on /readyz after the ${mode} stop`, () => watchers.every((w) => w.samples.some((s) => s.at > stoppedAt && s.status === 503)), 10_000);
    const notReady = watchers.map((w) => w.samples.find((s) => s.at > stoppedAt && s.status === 503)!);
    t.diagnostic(`${mode}: first 503 after ${notReady.map((s) => s.at - stoppedAt).join(' / ')} ms: ${notReady[0]!.body}`);
    await new Promise((r) => setTimeout(r, 3000));
    await postgres.start();
    const backAt = Date.now();
    await waitFor(`both nodes ready within 10 s of PostgreSQL's ${mode} restart`, () => watchers.every((w) => w.samples.some((s) => s.at > backAt && s.status === 200)), 10_000);
    const ready = watchers.map((w) => w.samples.find((s) => s.at > backAt && s.status === 200)!.at - backAt);
    const lines = logs.map((l, i) => l.lines - linesBefore[i]!);
    const refused = devices.reduce((n, d) => n + d.refused, 0) - refusedBefore;
    t.diagnostic(`${mode}: down ${backAt - stoppedAt} ms; ready again ${ready.join(' / ')} ms after PostgreSQL answered; ${refused} updates refused or unanswered meanwhile, log lines ${lines.join(' / ')}`);
    // The log says the database is away once per interval and kind, not once per refused update.
    assert.ok(lines.every((n) => n <= 30), `log lines while PostgreSQL was away: ${lines.join(' / ')}:\n${logs[0]!.sample.slice(-40).join('\n')}`);
    await waitFor(`updates acknowledged again after the ${mode} restart`, () => devices.reduce((n, d) => n + d.acked.size, 0) > ackedBefore + DEVICES, 15_000);
    assert.ok(nodes.every(alive), `a node died: ${nodes.filter((n) => !alive(n)).map((n) => n.output()).join('\n---\n')}`);
  }

  stopping = true;
  await Promise.all([...pumps, ...watchers.map((w) => w.done)]);
  assert.ok(nodes.every(alive), 'no node died');
  // Nodes keep MQTT sessions while the database is away: MQTT 5 devices get a failure reason code,
  // 3.1.1 devices a withheld PUBACK, and nobody is sent away to reconnect into the outage.
  assert.deepEqual(devices.filter((d) => d.closes > 0).map((d) => `${d.endpointId} (MQTT ${d.protocol === 5 ? '5' : '3.1.1'})`), [], 'every device keeps its connection through both restarts');

  let acknowledged = 0;
  let lost = 0;
  for (const device of devices) {
    const stored = await api<{ metadata?: Record<string, unknown> }>(node2, 'GET', `/epr/api/v1/endpoints/${device.endpointId}?include=metadata`);
    for (const key of device.acked) {
      acknowledged++;
      if (!(key in (stored.metadata ?? {}))) lost++;
    }
  }
  t.diagnostic(`acknowledged ${acknowledged}, refused or unanswered ${devices.reduce((n, d) => n + d.refused, 0)}, acknowledged but lost ${lost}`);
  assert.equal(lost, 0, 'every acknowledged update is stored');
  await Promise.all(devices.map((d) => d.client.endAsync(true)));
});

async function revoke(node: TetherNode, endpointId: string): Promise<void> {
  const tokens = await api<{ content?: Array<{ tokenId: string }> } | Array<{ tokenId: string }>>(node, 'GET', `/cm/api/v1/endpoints/${endpointId}/tokens`);
  const tokenId = (Array.isArray(tokens) ? tokens : (tokens.content ?? []))[0]!.tokenId;
  await api(node, 'POST', `/cm/api/v1/endpoints/${endpointId}/tokens/${tokenId}/revoke`);
}

// Longer than the 30 s default: two nodes, NATS stopped and started, a revocation published while it was away.
test('NATS stopped and started: nodes survive, say not ready, resume, and revocations reach the other node', { timeout: 90_000 }, async (t) => {
  const [postgres, nats] = await Promise.all([ownPostgres(), ownNats()]);
  t.after(() => Promise.all([postgres.dispose(), nats.dispose()]).then(() => undefined));
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-nats-restart-', engines: { databaseUrl: postgres.url, natsUrl: nats.url } });
  const node1 = await cluster.start(1);
  const node2 = await cluster.start(2);
  const nodes = [node1, node2];
  let stopping = false;
  t.after(() => {
    stopping = true;
  });
  const watchers = nodes.map((n) => watchReady(n, () => stopping));

  // Three devices on node 2; their tokens are revoked through node 1.
  const endpoints = await Promise.all([0, 1, 2].map(() => api<{ endpointId: string; token: string }>(node1, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: APP_VERSION } })));
  const devices = await Promise.all(endpoints.map((e, i) => connectDevice(node2, i * 4 + 1, e))); // MQTT 5: a close is a kick, never a reconnect
  for (const d of devices) d.client.options.reconnectPeriod = 0;
  const pumps = devices.map((d) => pump(d, () => stopping || d.closes > 0));
  await waitFor('every device to have an update acknowledged', () => devices.every((d) => d.acked.size > 0), 20_000);
  const [whileAway, afterwards, bystander] = devices as [Device, Device, Device];

  const stoppedAt = Date.now();
  await nats.stop();
  await waitFor('both nodes to answer 503 on /readyz while NATS is away', () => watchers.every((w) => w.samples.some((s) => s.at > stoppedAt && s.status === 503)), 10_000);
  t.diagnostic(`NATS away: ${watchers[0]!.samples.find((s) => s.at > stoppedAt && s.status === 503)!.body}`);
  // Revoked on node 1 while NATS is away: the REST call still succeeds (storage holds the truth).
  const revokeStarted = Date.now();
  await revoke(node1, whileAway.endpointId);
  t.diagnostic(`revoke while NATS was away answered in ${Date.now() - revokeStarted} ms`);
  await new Promise((r) => setTimeout(r, 3000));
  await nats.start();
  const backAt = Date.now();
  // The bus reconnects with backoff (up to 8 s between attempts, jittered).
  await waitFor('both nodes ready within 15 s of NATS being back', () => watchers.every((w) => w.samples.some((s) => s.at > backAt && s.status === 200)), 15_000);
  t.diagnostic(`NATS down ${backAt - stoppedAt} ms; nodes ready again ${watchers.map((w) => w.samples.find((s) => s.at > backAt && s.status === 200)!.at - backAt).join(' / ')} ms after it was back`);
  await waitFor('the device whose token was revoked on node 1 while NATS was away to be kicked on node 2', () => whileAway.closes > 0, 15_000);
  t.diagnostic(`kicked ${Date.now() - backAt} ms after NATS was back`);

  await revoke(node1, afterwards.endpointId);
  await waitFor('a revocation on node 1 after the restart to kick the device on node 2', () => afterwards.closes > 0, 15_000);
  assert.equal(bystander.closes, 0, 'a device whose token stands keeps its connection through the restart');
  const ackedBefore = bystander.acked.size;
  await waitFor('the bystander to go on being acknowledged', () => bystander.acked.size > ackedBefore + 3, 10_000);
  assert.ok(nodes.every(alive), 'no node died');
  stopping = true;
  await Promise.all([...pumps, ...watchers.map((w) => w.done)]);
  await Promise.all(devices.map((d) => d.client.endAsync(true)));
});

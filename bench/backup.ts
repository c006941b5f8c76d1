/**
 * `npm run bench:backup`: issue 17's backup target. A data directory with 100,000 endpoints and 10
 * million time series points (seeded straight into storage), a `tether start` on it with 100 devices
 * writing QoS 1 updates, `tether backup` taken meanwhile, `tether restore` into a new directory, and
 * a restored server on which every one of the 100 devices (and a sample of 1,000 others) is served
 * with its old token. `--endpoints N`, `--points N` for smaller runs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { openSqliteStorage } from '../src/storage/sqlite/index.js';
import { openSqliteTimeSeriesStorage } from '../src/storage/sqlite/time-series/index.js';
import type { SeriesPoints } from '../src/storage/time-series.js';
import { packageRoot } from '../src/platform/package-root.js';
import { APPLICATION, DB_FILE, seedEndpoints } from './seed.js';
import { installCleanup, startTether, type TetherServer } from './servers.js';

const ADMIN_KEY = 'backup-bench-admin-key-0123456789';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function seedPoints(dataDir: string, endpointIds: string[], total: number): Promise<void> {
  const storage = await openSqliteStorage({ file: path.join(dataDir, DB_FILE), synchronous: 'NORMAL' });
  const timeSeries = openSqliteTimeSeriesStorage(storage);
  try {
    const perEndpoint = Math.ceil(total / endpointIds.length);
    const start = Date.now() - perEndpoint * 10_000;
    let written = 0;
    for (let e = 0; e < endpointIds.length && written < total; e += 500) {
      const batch: SeriesPoints[] = endpointIds.slice(e, e + 500).map((endpointId, k) => ({
        endpointId,
        series: 'auto~temperature',
        points: Array.from({ length: perEndpoint }, (_, i) => ({ t: start + i * 10_000, values: { value: 20 + ((i + k) % 50) / 10 } })),
      }));
      await timeSeries.append(APPLICATION, batch);
      written += batch.length * perEndpoint;
    }
    while (await timeSeries.maintain()) {
      /* merge */
    }
  } finally {
    await timeSeries.close();
    await storage.close();
  }
}

async function serves(server: TetherServer, tokens: string[]): Promise<number> {
  let refused = 0;
  for (let i = 0; i < tokens.length; i += 100) {
    const client = await connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0 });
    const replies = new Map<string, string>();
    client.on('message', (topic, payload) => replies.set(topic, payload.toString()));
    const chunk = tokens.slice(i, i + 100);
    await Promise.all(chunk.map((token) => client.publishAsync(`kp1/demo_application_v1/epmx/${token}/get/keys/1`, '', { qos: 1 })));
    const deadline = Date.now() + 10_000;
    while (replies.size < chunk.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const token of chunk) if (replies.get(`kp1/demo_application_v1/epmx/${token}/get/keys/1/status`) === undefined) refused++;
    await client.endAsync();
  }
  return refused;
}

async function main(): Promise<void> {
  const endpoints = flag('endpoints', 100_000);
  const points = flag('points', 10_000_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-backup-bench-'));
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const entry = path.join(packageRoot(), 'bin/tether.js');
  console.log(`seeding ${endpoints} endpoints and ${points} points in ${dataDir}`);
  const seeded = await seedEndpoints(dataDir, endpoints);
  await seedPoints(dataDir, seeded.endpointIds, points);
  const server = await startTether({ entry, dataDir, adminKey: ADMIN_KEY, logFile: path.join(work, 'server.log') });
  installCleanup(() => void server.stop());

  // 100 devices keep QoS 1 updates in flight while the backup runs.
  const writers: MqttClient[] = [];
  let acked = 0;
  let stopped = false;
  for (const token of seeded.tokens.slice(0, 100)) {
    const client = await connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0 });
    writers.push(client);
    let seq = 0;
    const pump = () => {
      if (stopped) return;
      client.publish(`kp1/demo_application_v1/epmx/${token}/update/keys`, JSON.stringify({ seq: ++seq }), { qos: 1 }, (err) => {
        if (!err) acked++;
        pump();
      });
    };
    pump();
  }
  await new Promise((r) => setTimeout(r, 2000));
  const backupFile = path.join(work, 'tether.backup');
  const ackedBefore = acked;
  const t0 = performance.now();
  // Asynchronously: the devices in this process keep being served (and counted) meanwhile.
  const { stdout: out } = await promisify(execFile)(process.execPath, [entry, 'backup', backupFile, '--data-dir', dataDir], { encoding: 'utf8' });
  const backupSeconds = (performance.now() - t0) / 1000;
  const ackedDuring = acked - ackedBefore;
  stopped = true;
  await Promise.all(writers.map((w) => w.endAsync()));
  await server.stop();
  const size = fs.statSync(backupFile).size;
  console.log(out.trim());

  const restoredDir = path.join(work, 'restored');
  const t1 = performance.now();
  execFileSync(process.execPath, [entry, 'restore', backupFile, '--data-dir', restoredDir], { encoding: 'utf8' });
  const restoreSeconds = (performance.now() - t1) / 1000;
  const restored = await startTether({ entry, dataDir: restoredDir, adminKey: ADMIN_KEY, logFile: path.join(work, 'restored.log') });
  installCleanup(() => void restored.stop());
  const sample = [...seeded.tokens.slice(0, 100), ...Array.from({ length: 1000 }, (_, i) => seeded.tokens[100 + Math.floor((i * (endpoints - 100)) / 1000)]!)];
  const refused = await serves(restored, sample);
  await restored.stop();
  fs.rmSync(work, { recursive: true, force: true });
  console.log(
    `backup of ${endpoints} endpoints and ${points} points while 100 devices wrote: ${backupSeconds.toFixed(1)} s, ${(size / 1048576).toFixed(0)} MiB; ` +
      `${ackedDuring} updates acknowledged during the backup; restore ${restoreSeconds.toFixed(1)} s; ${sample.length - refused}/${sample.length} devices served with their old tokens`,
  );
  if (refused > 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log('1 passed, 0 failed');
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

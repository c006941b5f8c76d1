/**
 * Data collection benchmarks (issue 8): DCX ingest through the real server, bytes per data point
 * on disk, and the two time series reads over HTTP (downsampled range, latest values of a page).
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { openSqliteStorage } from '../src/storage/sqlite/index.js';
import { openSqliteTimeSeriesStorage } from '../src/storage/sqlite/time-series/index.js';
import type { SeriesPoints } from '../src/storage/time-series.js';
import type { LoadGenerator } from './loadgen/client.js';
import type { PublishResult } from './loadgen/protocol.js';
import { phaseMeter, waitIdle } from './procstat.js';
import { fmt, type Row } from './report.js';
import { log, type Plan } from './scenarios.js';
import { APPLICATION, DB_FILE } from './seed.js';
import type { RunningServer } from './servers.js';
import { Samples, type LatencySummary } from './stats.js';

export const DCX_PREFIX = 'kp1/demo_application_v1/dcx';
/** 10 samples × 5 numeric fields, extract-all on (the default for a version without rules). */
export const POINTS_PER_MESSAGE = 50;

export interface DcxFigures {
  tether?: PublishResult & { serverCpu: number };
  reference?: PublishResult;
  disk?: { points: number; tableBytes: number; fileBytes: number };
}

export interface ReadFigures {
  downsampled?: LatencySummary & { points: number; buckets: number; errors: number };
  latest?: LatencySummary & { endpoints: number; errors: number };
}

export async function measureDcx(gen: LoadGenerator, server: RunningServer, plan: Plan, tokens: string[]): Promise<PublishResult & { serverCpu: number }> {
  log(`${server.name}: DCX json batches (10 samples × 5 fields), ${plan.publishDevices} devices × ${plan.window} in flight, QoS 1, ${plan.publishMs / 1000} s`);
  const meter = phaseMeter(server.pid);
  const result = await gen.run({
    kind: 'closed',
    target: { host: '127.0.0.1', port: server.mqttPort, localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] },
    prefix: DCX_PREFIX,
    resource: 'json',
    body: 'dcx-batch',
    tokens: tokens.slice(0, plan.publishDevices),
    window: plan.window,
    warmupMs: plan.warmupMs,
    durationMs: plan.publishMs,
  });
  const { server: serverCpu } = meter();
  log(`${server.name}: ${fmt(result.rate)} messages/s = ${fmt(result.rate * POINTS_PER_MESSAGE)} points/s, p99 ${fmt(result.latency.p99, 2)} ms, lost ${result.lost}`);
  await waitIdle(server.pid);
  return { ...result, serverCpu };
}

/**
 * After the server stopped: merges what the background compaction has not reached yet (as a
 * longer-running server would have), then counts the bytes of the time series tables (dbstat)
 * and of the whole file after VACUUM.
 */
export async function measureDisk(dataDir: string): Promise<NonNullable<DcxFigures['disk']>> {
  const file = path.join(dataDir, DB_FILE);
  const storage = await openSqliteStorage({ file, synchronous: 'NORMAL' });
  const timeSeries = openSqliteTimeSeriesStorage(storage);
  try {
    while (await timeSeries.maintain()) {
      /* until every small chunk is merged */
    }
  } finally {
    await timeSeries.close();
    await storage.close();
  }
  const db = new Database(file);
  try {
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const points = (db.prepare('SELECT coalesce(sum(n), 0) FROM ts_chunk').pluck().get() as number) ?? 0;
    const tableBytes = db
      .prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('ts_chunk', 'ts_chunk_by_series', 'ts_series', 'ts_series_by_name', 'ts_series_by_endpoint', 'ts_series_to_compact', 'sqlite_autoindex_ts_series_1')")
      .pluck()
      .get() as number;
    const fileBytes = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    log(`disk: ${fmt(points)} points, ${fmt(tableBytes / Math.max(1, points), 2)} B/point in the time series tables, ${fmt(fileBytes / Math.max(1, points), 2)} B/point for the whole file`);
    return { points, tableBytes, fileBytes };
  } finally {
    db.close();
  }
}

const DAY = 86_400_000;
export const RANGE_POINTS = 259_200; // 30 days at one point per 10 s
const SERIES = 'auto~temperature';

/** One endpoint with 30 days of points, and one point for every listed endpoint: written straight to storage. */
export async function seedTimeSeries(dataDir: string, rangeEndpoint: string, listed: string[]): Promise<{ from: number; to: number; seconds: number }> {
  const t0 = performance.now();
  const storage = await openSqliteStorage({ file: path.join(dataDir, DB_FILE), synchronous: 'NORMAL' });
  const timeSeries = openSqliteTimeSeriesStorage(storage);
  const to = Date.now() - 60_000;
  const from = to - 30 * DAY;
  try {
    const writes: Promise<void>[] = [];
    for (let start = 0; start < RANGE_POINTS; start += 4096) {
      const points = [];
      for (let i = start; i < Math.min(RANGE_POINTS, start + 4096); i++) {
        points.push({ t: from + i * 10_000, values: { value: Math.round((20 + 5 * Math.sin(i / 8640) + (i % 7) / 10) * 10) / 10 } });
      }
      writes.push(timeSeries.append(APPLICATION, [{ endpointId: rangeEndpoint, series: SERIES, points }]));
    }
    for (let start = 0; start < listed.length; start += 5000) {
      const batch: SeriesPoints[] = listed.slice(start, start + 5000).map((endpointId, k) => ({ endpointId, series: SERIES, points: [{ t: to - k, values: { value: 20 + (k % 10) } }] }));
      writes.push(timeSeries.append(APPLICATION, batch));
    }
    await Promise.all(writes);
    while (await timeSeries.maintain()) {
      /* merge */
    }
  } finally {
    await timeSeries.close();
    await storage.close();
  }
  return { from, to, seconds: (performance.now() - t0) / 1000 };
}

async function timeGets(port: number, key: string, urls: () => string, count: number): Promise<{ latency: LatencySummary; errors: number; sample: unknown }> {
  const samples = new Samples();
  let errors = 0;
  let sample: unknown;
  // Warm-up: the first requests compile statements and fill caches.
  for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${port}${urls()}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer());
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}${urls()}`, { headers: { authorization: `Bearer ${key}` } });
    const body = await response.text();
    samples.add(performance.now() - t);
    if (response.status !== 200) errors++;
    else if (sample === undefined) sample = JSON.parse(body);
  }
  return { latency: samples.summary(), errors, sample };
}

export async function measureReads(port: number, key: string, rangeEndpoint: string, listed: string[], span: { from: number; to: number }, count: number): Promise<ReadFigures> {
  const base = `/epts/api/v1/applications/${APPLICATION}/time-series`;
  const downsampled = await timeGets(port, key, () => `${base}/data?endpointId=${rangeEndpoint}&timeSeriesName=${SERIES}&fromDate=${span.from}&toDate=${span.to}&aggregate=avg&buckets=1000`, count);
  const buckets = ((downsampled.sample as Array<Record<string, Record<string, unknown[]>>>)?.[0]?.[rangeEndpoint]?.[SERIES] ?? []).length;
  log(`downsampled read: ${buckets} buckets, p50 ${fmt(downsampled.latency.p50, 1)} ms, p99 ${fmt(downsampled.latency.p99, 1)} ms, ${downsampled.errors} errors`);
  let page = 0;
  const latest = await timeGets(port, key, () => {
    const first = ((page++ * 7919) % Math.max(1, listed.length / 20)) * 20;
    return `${base}/last?endpointId=${listed.slice(first, first + 20).join(',')}&timeSeriesName=${SERIES}`;
  }, count);
  log(`latest values of a 20-row page: p50 ${fmt(latest.latency.p50, 1)} ms, p99 ${fmt(latest.latency.p99, 1)} ms, ${latest.errors} errors`);
  return {
    downsampled: { ...downsampled.latency, points: RANGE_POINTS, buckets, errors: downsampled.errors },
    latest: { ...latest.latency, endpoints: listed.length, errors: latest.errors },
  };
}

export function timeSeriesRows(plan: Plan, dcx: DcxFigures, reads: ReadFigures, referenceMissing: string): Row[] {
  const rows: Row[] = [];
  const full = plan.mode === 'full';
  if (dcx.tether) {
    const points = dcx.tether.rate * POINTS_PER_MESSAGE;
    rows.push({
      metric: 'DCX ingest, data points/s persisted (QoS 1, 10×5 per message)',
      tether: fmt(points),
      reference: '',
      ratio: '',
      target: '≥ 250,000',
      verdict: points >= 250_000 && dcx.tether.lost === 0 ? 'PASS' : 'MISS',
    });
    rows.push({
      metric: '  DCX messages/s (reference: mosquitto, same payloads)',
      tether: fmt(dcx.tether.rate),
      reference: dcx.reference ? fmt(dcx.reference.rate) : referenceMissing,
      ratio: dcx.reference ? `${(dcx.tether.rate / dcx.reference.rate).toFixed(2)}×` : '',
      target: '',
      verdict: '',
    });
    rows.push({ metric: '  DCX PUBLISH→PUBACK p99 (ms)', tether: fmt(dcx.tether.latency.p99, 2), reference: dcx.reference ? fmt(dcx.reference.latency.p99, 2) : referenceMissing, ratio: '', target: '', verdict: '' });
  }
  if (dcx.disk) {
    const perPoint = dcx.disk.tableBytes / Math.max(1, dcx.disk.points);
    rows.push({ metric: 'Disk, bytes per numeric data point (time series tables)', tether: fmt(perPoint, 2), reference: '', ratio: '', target: '≤ 16', verdict: perPoint <= 16 ? 'PASS' : 'MISS' });
    rows.push({ metric: '  whole database file per point, after VACUUM', tether: fmt(dcx.disk.fileBytes / Math.max(1, dcx.disk.points), 2), reference: '', ratio: '', target: '', verdict: '' });
  }
  if (reads.downsampled) {
    rows.push({
      metric: `Downsampled read, ${fmt(reads.downsampled.points)} points → ${reads.downsampled.buckets} buckets, p99 (ms)`,
      tether: fmt(reads.downsampled.p99, 1),
      reference: '',
      ratio: '',
      target: '< 50 ms',
      verdict: reads.downsampled.p99 < 50 && reads.downsampled.errors === 0 ? 'PASS' : 'MISS',
    });
  }
  if (reads.latest) {
    rows.push({
      metric: `Latest value, 20-row page of ${fmt(reads.latest.endpoints)} endpoints, p99 (ms)`,
      tether: fmt(reads.latest.p99, 1),
      reference: '',
      ratio: '',
      target: '< 50 ms',
      verdict: full ? (reads.latest.p99 < 50 && reads.latest.errors === 0 ? 'PASS' : 'MISS') : '',
    });
  }
  return rows;
}

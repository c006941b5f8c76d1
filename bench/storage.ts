import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EndpointQuery, Metadata } from '../src/core/types.js';
import { openSqliteStorage } from '../src/storage/sqlite/index.js';

export interface StorageBenchFigures {
  endpoints: number;
  insertPerSecond: number;
  /** Median milliseconds per query shape, over `repeats` runs each. */
  queryMs: Record<string, number>;
  /** Fastest and slowest of those runs: the machine may be shared, so one median can mislead. */
  queryRangeMs: Record<string, [number, number]>;
  mergeCount: number;
  mergesPerSecond: number;
  seenPerSecond: number;
}

const APP = 'bench_app';
const VERSION = 'bench_app_v1';

/** Seeds a temp SQLite file with `endpoints` endpoints and times the hot paths. */
export async function benchStorage(options: { endpoints?: number; merges?: number; repeats?: number; synchronous?: 'FULL' | 'NORMAL' } = {}): Promise<StorageBenchFigures> {
  const total = options.endpoints ?? 100_000;
  const merges = options.merges ?? 20_000;
  const repeats = options.repeats ?? 9;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-'));
  const storage = await openSqliteStorage({ file: path.join(dir, 'bench.db'), synchronous: options.synchronous ?? 'FULL' });
  try {
    const at = new Date(0).toISOString();
    await storage.insertApplication({ name: APP, description: '', createdDate: at });
    await storage.insertAppVersion({ name: VERSION, applicationName: APP, registeredDate: at, extensions: ['epmx'], metadataKeyAccess: {} });

    let started = performance.now();
    const chunk = 5_000;
    for (let from = 0; from < total; from += chunk) {
      const writes: Promise<void>[] = [];
      for (let i = from; i < Math.min(total, from + chunk); i++) {
        writes.push(
          storage.insertEndpoint(
            {
              endpointId: `device-${String(i).padStart(6, '0')}`,
              applicationName: APP,
              appVersionName: VERSION,
              createdDate: new Date(1_700_000_000_000 + i * 1000).toISOString(),
              metadataUpdatedDate: null,
              connected: i % 3 === 0,
              connectivityTs: null,
              lastConnectedDate: null,
              lastDisconnectedDate: null,
              lastSeen: null,
            },
            metadataOf(i),
          ),
        );
      }
      await Promise.all(writes);
    }
    const insertPerSecond = total / ((performance.now() - started) / 1000);

    const base: EndpointQuery = { applicationName: APP, offset: 0, limit: 20, includeMetadata: true };
    const shapes: Record<string, EndpointQuery> = {
      'page 1, no filter, sort endpointId': { ...base, sort: { field: 'endpointId', direction: 'asc' } },
      'connected, sort createdDate desc': { ...base, connected: true, sort: { field: 'createdDate', direction: 'desc' } },
      'connected, sort metadata.temperature': { ...base, connected: true, sort: { field: 'metadata.temperature', direction: 'asc' } },
      'sort metadata.name desc, offset 50000': { ...base, offset: 50_000, sort: { field: 'metadata.name', direction: 'desc' } },
      'contains room, sort metadata.name': {
        ...base,
        metadataFilters: [{ key: 'room', op: 'contains', value: 'KITCHEN' }],
        sort: { field: 'metadata.name', direction: 'asc' },
      },
      'eq serial (1 match)': { ...base, metadataFilters: [{ key: 'serial', op: 'eq', value: 'SN-0042424' }] },
      'search all metadata, connected, sort lastSeen': { ...base, connected: true, search: 'sensor 77', sort: { field: 'lastSeen', direction: 'desc' } },
      'search in name, sort metadata.name': { ...base, search: 'sensor 12', searchKeys: ['name'], sort: { field: 'metadata.name', direction: 'asc' } },
      // Needles under 3 characters cannot use the trigram index and scan.
      'search 2 characters (scan), sort endpointId': { ...base, search: '77', sort: { field: 'endpointId', direction: 'asc' } },
    };
    const queryMs: Record<string, number> = {};
    const queryRangeMs: Record<string, [number, number]> = {};
    for (const [name, query] of Object.entries(shapes)) {
      const times = await timings(repeats, () => storage.queryEndpoints(query));
      queryMs[name] = times[Math.floor(times.length / 2)]!;
      queryRangeMs[name] = [times[0]!, times[times.length - 1]!];
    }

    started = performance.now();
    const results = await Promise.all(
      Array.from({ length: merges }, (_, i) =>
        storage.changeMetadata(`device-${String((i * 7919) % total).padStart(6, '0')}`, { kind: 'merge', metadata: { temperature: i % 40, counter: i } }, new Date().toISOString()),
      ),
    );
    const mergesPerSecond = merges / ((performance.now() - started) / 1000);
    if (results.some((r) => r === undefined)) throw new Error('a merge found no endpoint');

    started = performance.now();
    await Promise.all(Array.from({ length: merges }, (_, i) => storage.recordSeen(`device-${String(i % total).padStart(6, '0')}`, new Date().toISOString())));
    const seenPerSecond = merges / ((performance.now() - started) / 1000);

    return { endpoints: total, insertPerSecond: Math.round(insertPerSecond), queryMs, queryRangeMs, mergeCount: merges, mergesPerSecond: Math.round(mergesPerSecond), seenPerSecond: Math.round(seenPerSecond) };
  } finally {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function metadataOf(i: number): Metadata {
  const rooms = ['Kitchen', 'Living room', 'Garage', 'Office', 'Bedroom'];
  return {
    name: `Sensor ${i}`,
    serial: `SN-${String(i).padStart(7, '0')}`,
    temperature: (i * 37) % 50,
    room: rooms[i % rooms.length]!,
    firmware: { version: `1.${i % 10}.0`, channel: i % 2 ? 'stable' : 'beta' },
  };
}

/** Milliseconds of each run, sorted. */
async function timings(repeats: number, run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    times.push(Math.round((performance.now() - started) * 100) / 100);
  }
  return times.sort((a, b) => a - b);
}

// `node .build/<dir>/bench/storage.js` prints the figures.
if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  benchStorage().then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

/**
 * What only a shared database can get wrong: two nodes' time series storages on one PostgreSQL,
 * appending to the same series, compacting and enforcing retention at the same time. Every point
 * must be read back exactly once (no chunk merged twice, none lost between two rewrites).
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import pg from 'pg';
import { COMPACT_AFTER, FULL_CHUNK } from '../../src/storage/chunks/chunking.js';
import { openPostgresTimeSeriesStorage } from '../../src/storage/postgres/time-series/index.js';
import type { StoredPoint, TimeSeriesStorage } from '../../src/storage/time-series.js';
import { freshDatabase } from '../helpers/engines.js';

const T0 = Date.UTC(2026, 0, 1);
const APP = 'app';

// Longer than the 30 s default: two writers over a real PostgreSQL, compaction and deletion included.
test('postgres time series: two nodes append, compact and delete old points at once; every point is stored exactly once', { timeout: 120_000 }, async (t) => {
  const database = await freshDatabase();
  const nodes: TimeSeriesStorage[] = [];
  t.after(async () => {
    for (const node of nodes) await node.close();
    await database.drop();
  });
  // Both start at once: one migrates, the other waits for the lock and finds the schema ready.
  nodes.push(...(await Promise.all([0, 1].map(() => openPostgresTimeSeriesStorage({ url: database.url, maxConnections: 4 })))));
  const [a, b] = nodes as [TimeSeriesStorage, TimeSeriesStorage];

  // 2 nodes x 150 appends of 4 points each to the same 3 series, every append awaited by its caller
  // concurrently (group commit takes them in batches), interleaved timestamps.
  const series = ['s0', 's1', 's2'];
  const appends: Array<Promise<void>> = [];
  for (let i = 0; i < 150; i++) {
    for (const [k, node] of [a, b].entries()) {
      const points: StoredPoint[] = Array.from({ length: 4 }, (_, j) => ({ t: T0 + (i * 8 + k * 4 + j) * 1000, values: { value: i * 8 + k * 4 + j } }));
      appends.push(node.append(APP, series.map((name) => ({ endpointId: 'e1', series: name, points }))));
    }
  }
  let compacting = true;
  const compactor = async (node: TimeSeriesStorage) => {
    while (compacting) if (!(await node.maintain())) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const compactors = [compactor(a), compactor(b)];
  await Promise.all(appends);
  compacting = false;
  await Promise.all(compactors);
  while ((await a.maintain()) || (await b.maintain())) {
    /* until done */
  }

  const expected = Array.from({ length: 1200 }, (_, i) => ({ t: T0 + i * 1000, values: { value: i } }));
  for (const name of series) {
    const read = await b.range({ applicationName: APP, endpointId: 'e1', series: name, from: 0, to: T0 + 1e9, order: 'asc', limit: 1e6 });
    assert.deepEqual(read.points, expected, name);
  }
  // Compaction left few chunks: per series, full ones plus fewer small ones than make it due again.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ chunks: number }>('SELECT count(*)::int AS chunks FROM ts_chunk');
    assert.ok(rows[0]!.chunks < 3 * (Math.ceil(1200 / FULL_CHUNK) + COMPACT_AFTER), `${rows[0]!.chunks} chunks for 3 series of 1200 points`);
  } finally {
    await client.end();
  }

  // Retention on both nodes at once: together they delete each old point once.
  const cutoff = T0 + 500_500;
  const deleted = await Promise.all([a.deleteBefore(APP, cutoff), b.deleteBefore(APP, cutoff)]);
  assert.equal(deleted[0] + deleted[1], 3 * 501);
  const kept = await a.range({ applicationName: APP, endpointId: 'e1', series: 's1', from: 0, to: T0 + 1e9, order: 'asc', limit: 1e6 });
  assert.deepEqual(kept.points, expected.slice(501));

  // Both nodes hear of a deleted endpoint and delete it at once.
  await Promise.all([a.deleteEndpoint('e1'), b.deleteEndpoint('e1')]);
  assert.deepEqual(await a.seriesNames(APP), []);
});

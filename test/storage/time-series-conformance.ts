import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import type { StoredPoint, TimeSeriesStorage } from '../../src/storage/time-series.js';

/**
 * The behaviour every TimeSeriesStorage must have. A backend's test file calls this with a function
 * that opens a fresh, empty store; `reopen` opens the same data again after `close()`.
 */
export interface OpenedTimeSeries {
  storage: TimeSeriesStorage;
  reopen?: () => Promise<TimeSeriesStorage>;
  cleanup: () => Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const APP = 'app';

const points = (n: number, step = 1000, value = (i: number) => i): StoredPoint[] =>
  Array.from({ length: n }, (_, i) => ({ t: T0 + i * step, values: { value: value(i) } }));

export function timeSeriesConformance(name: string, open: () => Promise<OpenedTimeSeries>): void {
  async function withStorage(fn: (storage: TimeSeriesStorage, opened: OpenedTimeSeries) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.storage, opened);
    } finally {
      await opened.cleanup();
    }
  }

  const range = (storage: TimeSeriesStorage, extra: Partial<Parameters<TimeSeriesStorage['range']>[0]> = {}) =>
    storage.range({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 1e9, order: 'asc', limit: 1e6, ...extra });

  describe(`time series storage conformance: ${name}`, () => {
    test('appended points read back sorted, bounds inclusive, in either order, cut at the limit', () =>
      withStorage(async (storage) => {
        const all = points(10);
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: all.slice(5) }]);
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: all.slice(0, 5).reverse() }]);
        assert.deepEqual((await range(storage)).points, all);
        assert.deepEqual((await range(storage, { from: T0 + 2000, to: T0 + 4000 })).points, all.slice(2, 5));
        assert.deepEqual((await range(storage, { order: 'desc' })).points, [...all].reverse());
        assert.deepEqual(await range(storage, { limit: 3 }), { points: all.slice(0, 3), truncated: true });
        assert.deepEqual(await range(storage, { endpointId: 'nobody' }), { points: [], truncated: false });
        assert.deepEqual(await range(storage, { applicationName: 'other' }), { points: [], truncated: false });
      }));

    test('bounds far beyond the stored times, or between two milliseconds, select the points they cover', () =>
      withStorage(async (storage) => {
        const all = points(10);
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: all }]);
        assert.deepEqual((await range(storage, { from: -1e20, to: 1e20 })).points, all);
        assert.deepEqual((await range(storage, { from: T0 + 1500.5, to: T0 + 3999.5 })).points, all.slice(2, 4));
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'], T0 + 2000.5)).get('e1')?.get('s'), all[2]);
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'], 1e20)).get('e1')?.get('s'), all[9]);
        const agg = await storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: 1e20, order: 'asc', fn: 'max', intervalMs: 1e19 });
        assert.deepEqual(agg, [{ t: T0, values: { value: 9 } }]);
      }));

    test('values keep their type: decimals, floats, big integers, booleans, strings, tags missing on some points', () =>
      withStorage(async (storage) => {
        const odd: StoredPoint[] = [
          { t: T0, values: { value: 0.1 + 0.2, flag: true, label: 'a,"b"' } },
          { t: T0 + 1, values: { value: -1e300, flag: false } },
          { t: T0 + 2, values: { value: 2 ** 52 + 1, label: 'ü' } },
          { t: T0 + 3, values: { value: -37.35119 } },
          { t: T0 + 4, values: { value: 98 } },
          { t: T0 + 5, values: { value: 2 ** 40 } },
          { t: T0 + 6, values: { value: -(2 ** 35) + 0.5 } },
          { t: T0 + 7, values: { value: 2 ** 31 - 1 } },
        ];
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: odd }]);
        assert.deepEqual((await range(storage)).points, odd);
      }));

    test('last: the latest point per endpoint and series, before a date, or of every endpoint', () =>
      withStorage(async (storage) => {
        await storage.append(APP, [
          { endpointId: 'e1', series: 's', points: points(5) },
          { endpointId: 'e2', series: 's', points: points(3) },
          { endpointId: 'e2', series: 'x', points: [{ t: T0, values: { value: 'on' } }] },
        ]);
        const last = await storage.last(APP, ['e1', 'e2', 'e3'], ['s', 'x']);
        assert.deepEqual(last.get('e1')?.get('s'), points(5)[4]);
        assert.equal(last.get('e1')?.get('x'), undefined);
        assert.deepEqual(last.get('e2')?.get('x'), { t: T0, values: { value: 'on' } });
        assert.equal(last.get('e3'), undefined);
        const before = await storage.last(APP, ['e1'], ['s'], T0 + 2500);
        assert.deepEqual(before.get('e1')?.get('s'), points(5)[2]);
        const every = await storage.last(APP, undefined, ['s']);
        assert.deepEqual([...every.keys()].sort(), ['e1', 'e2']);
        // An older point appended later does not replace the latest.
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: [{ t: T0 - 1000, values: { value: -1 } }] }]);
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'])).get('e1')?.get('s'), points(5)[4]);
      }));

    test('aggregate: avg, min, max and last per bucket, buckets from `from`, empty ones left out', () =>
      withStorage(async (storage) => {
        // 10 points a second apart: buckets of 4 s hold 0-3, 4-7, 8-9; then a gap, then 100.
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: [...points(10), { t: T0 + 20_000, values: { value: 100 } }] }]);
        const agg = (fn: 'avg' | 'min' | 'max' | 'last', order: 'asc' | 'desc' = 'asc') =>
          storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 30_000, order, fn, intervalMs: 4000 });
        assert.deepEqual(await agg('avg'), [
          { t: T0, values: { value: 1.5 } },
          { t: T0 + 4000, values: { value: 5.5 } },
          { t: T0 + 8000, values: { value: 8.5 } },
          { t: T0 + 20_000, values: { value: 100 } },
        ]);
        assert.deepEqual((await agg('min')).map((p) => p.values['value']), [0, 4, 8, 100]);
        assert.deepEqual((await agg('max')).map((p) => p.values['value']), [3, 7, 9, 100]);
        assert.deepEqual((await agg('last', 'desc')).map((p) => p.values['value']), [100, 9, 7, 3]);
      }));

    test('maintenance merges small batches without changing what reads return', () =>
      withStorage(async (storage) => {
        const all = points(3000, 1000, (i) => Math.round(Math.sin(i / 50) * 1000) / 100);
        for (let i = 0; i < all.length; i += 10) await storage.append(APP, [{ endpointId: 'e1', series: 's', points: all.slice(i, i + 10) }]);
        const before = await storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 3e6, order: 'asc', fn: 'avg', intervalMs: 600_000 });
        while (await storage.maintain()) {
          /* until done */
        }
        assert.deepEqual((await range(storage)).points, all);
        const after = await storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 3e6, order: 'asc', fn: 'avg', intervalMs: 600_000 });
        assert.equal(after.length, before.length);
        for (const [i, p] of after.entries()) {
          assert.equal(p.t, before[i]!.t);
          assert.ok(Math.abs((p.values['value'] as number) - (before[i]!.values['value'] as number)) < 1e-9);
        }
        for (const fn of ['min', 'max', 'last'] as const) {
          const got = await storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 3e6, order: 'asc', fn, intervalMs: 600_000 });
          const expected = [0, 1, 2, 3, 4].map((b) => {
            const inBucket = all.slice(b * 600, b * 600 + 600).map((p) => p.values['value'] as number);
            return fn === 'min' ? Math.min(...inBucket) : fn === 'max' ? Math.max(...inBucket) : inBucket.at(-1);
          });
          assert.deepEqual(got.map((p) => p.values['value']), expected, fn);
        }
      }));

    test('one point per time: a later write of a time replaces it, in a batch, across appends, after compaction', () =>
      withStorage(async (storage) => {
        const at = (t: number, value: number): StoredPoint => ({ t: T0 + t, values: { value } });
        // In one batch, the last of a time stays; a tagged series too.
        await storage.append(APP, [
          { endpointId: 'e1', series: 's', points: [at(0, 1), at(1, 2), at(1, 3), at(2, 4)] },
          { endpointId: 'e1', series: 'tagged', points: [{ t: T0, values: { value: 1, lat: 1 } }, { t: T0, values: { value: 2, lat: 2 } }] },
        ]);
        assert.deepEqual((await range(storage)).points, [at(0, 1), at(1, 3), at(2, 4)]);
        assert.deepEqual((await range(storage, { series: 'tagged' })).points, [{ t: T0, values: { value: 2, lat: 2 } }]);
        // A retransmission changes nothing; a correction of a stored time, the latest one included, wins.
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: [at(0, 1), at(1, 3), at(2, 4)] }]);
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: [at(1, 30), at(2, 40), at(3, 5)] }]);
        assert.deepEqual((await range(storage)).points, [at(0, 1), at(1, 30), at(2, 40), at(3, 5)]);
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'])).get('e1')?.get('s'), at(3, 5));
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: [at(3, 50)] }]);
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'])).get('e1')?.get('s'), at(3, 50));
        assert.deepEqual((await storage.last(APP, ['e1'], ['s'], T0 + 3)).get('e1')?.get('s'), at(2, 40));
        const sum = await storage.aggregate({ applicationName: APP, endpointId: 'e1', series: 's', from: T0, to: T0 + 1000, order: 'asc', fn: 'avg', intervalMs: 1000 });
        assert.deepEqual(sum, [{ t: T0, values: { value: (1 + 30 + 40 + 50) / 4 } }]);

        // Into a series of many chunks: a correction in the middle of a full chunk replaces just that point.
        const many = points(2000);
        for (let i = 0; i < 10; i++) await storage.append(APP, [{ endpointId: 'e2', series: 's', points: many.slice(i * 200, i * 200 + 200) }]);
        while (await storage.maintain()) {
          /* merge the small chunks */
        }
        await storage.append(APP, [{ endpointId: 'e2', series: 's', points: [{ t: many[700]!.t, values: { value: -1 } }, ...many.slice(1500, 1600)] }]);
        const got = (await range(storage, { endpointId: 'e2' })).points;
        assert.equal(got.length, 2000);
        assert.deepEqual(got[700], { t: many[700]!.t, values: { value: -1 } });
        assert.deepEqual(got.filter((_, i) => i !== 700), many.filter((_, i) => i !== 700));
        const max = await storage.aggregate({ applicationName: APP, endpointId: 'e2', series: 's', from: T0, to: T0 + 2e6, order: 'asc', fn: 'min', intervalMs: 1e7 });
        assert.deepEqual(max, [{ t: T0, values: { value: -1 } }]);
      }));

    test('series names, applications, definitions', () =>
      withStorage(async (storage) => {
        await storage.append(APP, [{ endpointId: 'e1', series: 'b', points: points(1) }, { endpointId: 'e2', series: 'a', points: points(1) }]);
        await storage.append(APP, [{ endpointId: 'e1', series: 'c', points: points(1) }]);
        assert.deepEqual(await storage.seriesNames(APP), ['a', 'b', 'c']);
        assert.deepEqual(await storage.seriesNames(APP, 'e1'), ['b', 'c']);
        assert.deepEqual(await storage.seriesNames(APP, 'e3'), []);
        assert.deepEqual(await storage.seriesNames('other', 'e1'), []);
        assert.deepEqual(await storage.applications(), [APP]);
        assert.equal(await storage.getDefinitions(APP), undefined);
        await storage.putDefinitions(APP, { retentionDays: 7, timeSeries: [] });
        await storage.putDefinitions(APP, { retentionDays: 8, timeSeries: [] });
        assert.deepEqual(await storage.getDefinitions(APP), { retentionDays: 8, timeSeries: [] });
      }));

    test('retention deletes what is older than the cutoff; deleting an endpoint deletes its series', () =>
      withStorage(async (storage) => {
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: points(10) }]);
        await storage.append(APP, [{ endpointId: 'e1', series: 's', points: points(10).map((p) => ({ ...p, t: p.t + 1e6 })) }]);
        await storage.append('other', [{ endpointId: 'x', series: 's', points: points(10) }]);
        assert.equal(await storage.deleteBefore(APP, T0 + 5e5), 10);
        assert.equal((await range(storage)).points.length, 10);
        assert.equal((await range(storage, { applicationName: 'other', endpointId: 'x' })).points.length, 10);
        assert.equal(await storage.deleteBefore(APP, T0 + 2e6), 10);
        assert.equal((await storage.last(APP, ['e1'], ['s'])).size, 0);
        await storage.deleteEndpoint('x');
        assert.deepEqual(await storage.seriesNames('other'), []);
      }));

    test('appended points survive closing and reopening', async () => {
      const opened = await open();
      try {
        if (!opened.reopen) return;
        await opened.storage.append(APP, [{ endpointId: 'e1', series: 's', points: points(20) }]);
        await opened.storage.close();
        const again = await opened.reopen();
        try {
          assert.deepEqual((await again.range({ applicationName: APP, endpointId: 'e1', series: 's', from: 0, to: T0 + 1e9, order: 'asc', limit: 100 })).points, points(20));
        } finally {
          await again.close();
        }
      } finally {
        await opened.cleanup();
      }
    });
  });
}

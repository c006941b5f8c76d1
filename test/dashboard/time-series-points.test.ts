/**
 * The telemetry views' data logic (src/dashboard/web/src/time-series/points.ts), bundled by Vite as
 * the browser gets it and run here: EPTS answers to points, chart alignment, buckets, the map's
 * track and the live event.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from '../helpers/test.js';
import { packageRoot } from './helpers.js';

type Point = { t: number; values: Record<string, unknown>; tags?: Record<string, unknown> };
interface PointsModule {
  pointsOf(answer: unknown, endpointId: string): Map<string, Point[]>;
  latestOf(answer: unknown): Map<string, Map<string, Point>>;
  alignForChart(lines: Array<{ points: Point[]; field?: string }>): [Float64Array, ...Array<Array<number | null>>];
  bucketFor(rangeMs: number, buckets?: number): number;
  mergePoints(points: Point[], added: Point[], from: number): Point[];
  trackOf(series: Map<string, Point[]>): { source: string; track: Array<{ t: number; lat: number; lon: number }> } | undefined;
  isPositionSeries(name: string, values: string[]): boolean;
  parseAppended(event: unknown): { endpointId: string; series: Map<string, Point[]> } | undefined;
  numberOf(point: Point | undefined, field?: string): number | null;
  niceScale(values: number[]): [number, number];
  gapsOf(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, minGap: number): Array<[number, number]>;
  duplicateAutoSeries(names: string[], definitions: Array<{ name: string; valueField: string }>): Map<string, string>;
}
interface EptsModule {
  formatInterval(ms: number): string;
}

let out: string;
let p: PointsModule;
let e: EptsModule;

before(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-points-'));
  const web = path.join(packageRoot(), 'src/dashboard/web/src/time-series');
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'error',
    build: {
      outDir: out,
      emptyOutDir: true,
      minify: false,
      lib: { entry: { points: path.join(web, 'points.ts'), epts: path.join(web, 'epts.ts') }, formats: ['es'] },
    },
  });
  const file = (name: string) => pathToFileURL(path.join(out, fs.readdirSync(out).find((f) => f.startsWith(name) && f.endsWith('.js'))!)).href;
  p = (await import(file('points'))) as PointsModule;
  e = (await import(file('epts'))) as EptsModule;
});

after(() => fs.rmSync(out, { recursive: true, force: true }));

const at = (iso: string) => Date.parse(iso);

test('EPTS answers become sorted points per series; latest keeps the newest per endpoint and series', () => {
  const answer = [
    { 'ep-1': { Temperature: [{ timestamp: '2026-12-01T02:00:02Z', values: { value: 99 } }, { timestamp: '2026-12-01T02:00:01Z', values: { value: 98 } }] } },
    { 'ep-2': { Temperature: [{ timestamp: 'not a date', values: { value: 1 } }] } },
    { 'ep-1': { Fuel: [{ timestamp: '2026-12-01T02:00:00Z', values: { value: 50 } }] } },
  ];
  const points = p.pointsOf(answer, 'ep-1');
  assert.deepEqual([...points.keys()], ['Temperature', 'Fuel']);
  assert.deepEqual(points.get('Temperature')!.map((x) => x.values.value), [98, 99]);
  assert.deepEqual(p.pointsOf(answer, 'ep-2').get('Temperature'), []);
  const latest = p.latestOf(answer);
  assert.equal(latest.get('ep-1')!.get('Temperature')!.values.value, 99);
  assert.equal(latest.get('ep-1')!.get('Fuel')!.t, at('2026-12-01T02:00:00Z'));
  assert.equal(latest.get('ep-2')!.size, 0);
});

test('a point shows its value field, else its first number; booleans count as 0 and 1', () => {
  assert.equal(p.numberOf({ t: 0, values: { value: 5, other: 7 } }), 5);
  assert.equal(p.numberOf({ t: 0, values: { name: 'x', level: 7 } }), 7);
  assert.equal(p.numberOf({ t: 0, values: { value: true } }), 1);
  assert.equal(p.numberOf({ t: 0, values: { value: 'high' } }), null);
  assert.equal(p.numberOf(undefined), null);
});

test('lines with different timestamps are aligned on one time axis, with gaps as null', () => {
  const a = [{ t: 1000, values: { value: 1 } }, { t: 3000, values: { value: 3 } }];
  const b = [{ t: 2000, values: { value: 20 } }, { t: 3000, values: { value: 30 } }, { t: 4000, values: { value: 40 } }];
  const [xs, ya, yb] = p.alignForChart([{ points: a }, { points: b }]);
  assert.deepEqual([...xs], [1, 2, 3, 4]);
  assert.deepEqual(ya, [1, null, 3, null]);
  assert.deepEqual(yb, [null, 20, 30, 40]);
  const [single, only] = p.alignForChart([{ points: a }]);
  assert.deepEqual([...single], [1, 3]);
  assert.deepEqual(only, [1, 3]);
  assert.deepEqual(p.alignForChart([{ points: [] }, { points: [] }]).map((c) => [...c]), [[], [], []]);
});

test('ranges are downsampled to round buckets of at most ~600 points, written as the REST interval', () => {
  assert.equal(p.bucketFor(15 * 60_000), 2_000);
  assert.equal(p.bucketFor(3_600_000), 10_000);
  assert.equal(p.bucketFor(86_400_000), 300_000);
  assert.equal(p.bucketFor(7 * 86_400_000), 1_800_000);
  assert.equal(p.bucketFor(365 * 86_400_000), 86_400_000);
  assert.equal(p.bucketFor(1000), 1000);
  assert.deepEqual([10_000, 300_000, 3_600_000, 86_400_000, 1_500].map(e.formatInterval), ['10s', '5m', '1h', '1d', '2s']);
});

test('the gauge scale runs from 0 (or the lowest value) to a round number above the highest', () => {
  assert.deepEqual(p.niceScale([94, 85, 100]), [0, 110]);
  assert.deepEqual(p.niceScale([0.42]), [0, 0.47]);
  assert.deepEqual(p.niceScale([83.5]), [0, 92]);
  assert.deepEqual(p.niceScale([-20, 30]), [-20, 33]);
  assert.deepEqual(p.niceScale([]), [0, 100]);
});

test('live points merge into a series: same time replaces, older than the window goes', () => {
  const merged = p.mergePoints(
    [{ t: 1000, values: { value: 1 } }, { t: 2000, values: { value: 2 } }],
    [{ t: 2000, values: { value: 22 } }, { t: 3000, values: { value: 3 } }],
    1500,
  );
  assert.deepEqual(merged.map((x) => [x.t, x.values.value]), [[2000, 22], [3000, 3]]);
});

test('the map track comes from coordinate values or tags, or from a latitude and a longitude series', () => {
  const tutorial = new Map([['Location', [{ t: 1, values: { value: 1, latitude: 37.35, longitude: -122.03 } }, { t: 2, values: { value: 2, latitude: 99, longitude: 0 } }]]]);
  assert.deepEqual(p.trackOf(tutorial), { source: 'Location', track: [{ t: 1, lat: 37.35, lon: -122.03 }] });
  const tagged = new Map([['Fuel', [{ t: 1, values: { value: 50 }, tags: { lat: 1.5, lng: 2.5 } }]]]);
  assert.deepEqual(p.trackOf(tagged)!.track, [{ t: 1, lat: 1.5, lon: 2.5 }]);
  const extractAll = new Map([
    ['auto~temperature', [{ t: 1, values: { value: 90 } }]],
    ['auto~latitude', [{ t: 1, values: { value: 10 } }, { t: 2, values: { value: 11 } }, { t: 3, values: { value: 12 } }]],
    ['auto~longitude', [{ t: 1, values: { value: 20 } }, { t: 3, values: { value: 22 } }]],
  ]);
  assert.deepEqual(p.trackOf(extractAll), { source: 'auto~latitude + auto~longitude', track: [{ t: 1, lat: 10, lon: 20 }, { t: 3, lat: 12, lon: 22 }] });
  assert.equal(p.trackOf(new Map([['auto~temperature', [{ t: 1, values: { value: 90 } }]]])), undefined);

  assert.equal(p.isPositionSeries('auto~latitude', ['value']), true);
  assert.equal(p.isPositionSeries('Location', ['value', 'latitude', 'longitude']), true);
  assert.equal(p.isPositionSeries('FuelLevel', ['value', 'latitude', 'longitude']), false);
  assert.equal(p.isPositionSeries('auto~fuelLevel', ['value']), false);
});

test('the time-series.appended live event is read as docs/time-series.md writes it; anything else is ignored', () => {
  const event = {
    type: 'time-series.appended',
    endpointId: 'ep-1',
    at: '2026-12-01T02:00:00.250Z',
    latest: { Temperature: { timestamp: '2026-12-01T02:00:00.000Z', values: { value: 98 } }, Broken: { timestamp: 'x', values: {} } },
  };
  const parsed = p.parseAppended(event)!;
  assert.equal(parsed.endpointId, 'ep-1');
  assert.deepEqual([...parsed.series.keys()], ['Temperature']);
  assert.deepEqual(parsed.series.get('Temperature'), [{ t: at('2026-12-01T02:00:00Z'), values: { value: 98 } }]);
  assert.equal(p.parseAppended({ ...event, type: 'metadata.updated' }), undefined);
  assert.equal(p.parseAppended({ ...event, latest: null }), undefined);
  assert.equal(p.parseAppended('nonsense'), undefined);
});

test('a device that stopped and started again is two runs: the line breaks at the silence, not at other lines\' points', () => {
  // Two runs a second apart, a minute of silence between them; null is another line's time.
  const xs = [1, 2, 3, 3.5, 4, 64, 65, 66];
  const ys = [10, 11, 12, null, 13, 20, 21, 22];
  assert.deepEqual(p.gapsOf(xs, ys, 1), [[4, 64]]);
  // A device that always reports once a minute is never broken, nor one whose points are one bucket apart.
  assert.deepEqual(p.gapsOf([0, 60, 120, 180], [1, 2, 3, 4], 1), []);
  assert.deepEqual(p.gapsOf([0, 10, 20, 40], [1, 2, 3, 4], 30), []);
  assert.deepEqual(p.gapsOf([0], [1], 1), []);
});

test('with the tutorial definitions, auto~fuelLevel is FuelLevel again and auto~speed is a series of its own', () => {
  const definitions = [
    { name: 'FuelLevel', valueField: 'fuelLevel' },
    { name: 'Temperature', valueField: "$['temperature']" },
    { name: 'Location', valueField: 'timestamp' },
    { name: 'Pressure', valueField: '$.engine.pressure' },
  ];
  const names = ['FuelLevel', 'Temperature', 'Location', 'auto~fuelLevel', 'auto~temperature', 'auto~speed', 'auto~pressure'];
  assert.deepEqual([...p.duplicateAutoSeries(names, definitions)], [['auto~fuelLevel', 'FuelLevel'], ['auto~temperature', 'Temperature']]);
  assert.deepEqual([...p.duplicateAutoSeries(names, [])], []);
});

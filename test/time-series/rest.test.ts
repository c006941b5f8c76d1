/** Kaa EPTS REST shapes, Tether's additions (aggregates, CSV, writes), definitions, retention and the live event. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import { toDashboardEvent } from '../../src/dashboard/server/live-events.js';
import { api, createEndpoint, start, testConfig } from '../platform/helpers.js';
import type { RunningTether } from '../../src/platform/tether.js';
import { tempDir } from '../helpers/tmp.js';
import type { Cleanup } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

type Series = Array<Record<string, Record<string, Array<{ timestamp: string; values: Record<string, unknown> }>>>>;

const T0 = Date.UTC(2026, 10, 1);
const iso = (t: number) => new Date(t).toISOString();
const APP = '/epts/api/v1/applications/demo_application/time-series';

async function seeded(t: Cleanup): Promise<{ running: RunningTether; e1: string; e2: string }> {
  const running = await start(t, await testConfig(tempDir(t)));
  const e1 = (await createEndpoint(running)).endpointId;
  const e2 = (await createEndpoint(running)).endpointId;
  const points = (n: number, f: (i: number) => Record<string, unknown>) => Array.from({ length: n }, (_, i) => ({ timestamp: iso(T0 + i * 60_000), values: f(i) }));
  const written = await api<{ stored: number }>(running, 'POST', `${APP}/data`, [
    { [e1]: { 'auto~temp': points(10, (i) => ({ value: 20 + i })), 'auto~on': points(2, (i) => ({ value: i === 1 })) } },
    { [e2]: { 'auto~temp': points(3, (i) => ({ value: 30 + i })) } },
  ]);
  assert.equal(written.status, 200, JSON.stringify(written.body));
  assert.deepEqual(written.body, { stored: 15 });
  return { running, e1, e2 };
}

test('EPTS last: per endpoint and series, comma lists, beforeDate, every endpoint when none is named', async (t) => {
  const { running, e1, e2 } = await seeded(t);
  const last = await api<Series>(running, 'GET', `${APP}/last?endpointId=${e1},${e2}&timeSeriesName=auto~temp,auto~on`);
  assert.equal(last.status, 200);
  assert.deepEqual(last.body, [
    { [e1]: { 'auto~temp': [{ timestamp: iso(T0 + 9 * 60_000), values: { value: 29 } }], 'auto~on': [{ timestamp: iso(T0 + 60_000), values: { value: true } }] } },
    { [e2]: { 'auto~temp': [{ timestamp: iso(T0 + 2 * 60_000), values: { value: 32 } }], 'auto~on': [] } },
  ]);
  const before = await api<Series>(running, 'GET', `${APP}/last?endpointId=${e1}&timeSeriesName=auto~temp&beforeDate=${iso(T0 + 5 * 60_000)}`);
  assert.deepEqual(before.body, [{ [e1]: { 'auto~temp': [{ timestamp: iso(T0 + 4 * 60_000), values: { value: 24 } }] } }]);
  const every = await api<Series>(running, 'GET', `${APP}/last?timeSeriesName=auto~temp`);
  assert.deepEqual(every.body.map((row) => Object.keys(row)[0]).sort(), [e1, e2].sort());
});

test('EPTS data: includeTime, sort, limit, aggregates with interval or buckets, CSV', async (t) => {
  const { running, e1, e2 } = await seeded(t);
  const base = `${APP}/data?endpointId=${e1}&timeSeriesName=auto~temp&fromDate=${iso(T0)}&toDate=${iso(T0 + 4 * 60_000)}`;
  const values = (body: Series, ep = e1, name = 'auto~temp') => body.find((r) => r[ep])![ep]![name]!.map((p) => p.values['value']);
  assert.deepEqual(values((await api<Series>(running, 'GET', base)).body), [20, 21, 22, 23, 24]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${base}&includeTime=both`)).body), [20, 21, 22, 23, 24]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${base}&includeTime=from`)).body), [20, 21, 22, 23]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${base}&includeTime=to`)).body), [21, 22, 23, 24]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${base}&includeTime=none`)).body), [21, 22, 23]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${base}&sort=DESC`)).body), [24, 23, 22, 21, 20]);
  const limited = await fetch(`http://127.0.0.1:${running.httpPort}${base}&limit=2`, { headers: { authorization: `Bearer ${running.adminApiKey}` } });
  assert.equal(limited.headers.get('x-tether-truncated'), 'true');
  assert.deepEqual(values((await limited.json()) as Series), [20, 21]);
  // Millisecond dates and two endpoints at once.
  const both = await api<Series>(running, 'GET', `${APP}/data?endpointId=${e1},${e2}&timeSeriesName=auto~temp&fromDate=${T0}&toDate=${T0 + 3_600_000}`);
  assert.deepEqual(values(both.body, e2), [30, 31, 32]);

  const wide = `${APP}/data?endpointId=${e1}&timeSeriesName=auto~temp&fromDate=${iso(T0)}&toDate=${iso(T0 + 10 * 60_000)}`;
  const avg = await api<Series>(running, 'GET', `${wide}&aggregate=avg&interval=5m`);
  assert.deepEqual(avg.body, [{ [e1]: { 'auto~temp': [{ timestamp: iso(T0), values: { value: 22 } }, { timestamp: iso(T0 + 300_000), values: { value: 27 } }] } }]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${wide}&aggregate=max&interval=PT5M`)).body), [24, 29]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${wide}&aggregate=min&buckets=2`)).body), [20, 26]);
  assert.deepEqual(values((await api<Series>(running, 'GET', `${wide}&aggregate=last&interval=300000&sort=DESC`)).body), [29, 24]);

  const csv = await fetch(`http://127.0.0.1:${running.httpPort}${base}&format=csv&includeTime=none`, { headers: { authorization: `Bearer ${running.adminApiKey}` } });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(await csv.text(), [
    'endpointId,timeSeriesName,timestamp,value',
    `${e1},auto~temp,${iso(T0 + 60_000)},21`,
    `${e1},auto~temp,${iso(T0 + 120_000)},22`,
    `${e1},auto~temp,${iso(T0 + 180_000)},23`,
    '',
  ].join('\r\n'));
});

test('EPTS errors say what to fix', async (t) => {
  const { running, e1 } = await seeded(t);
  const base = `${APP}/data?endpointId=${e1}&timeSeriesName=auto~temp&fromDate=${iso(T0)}&toDate=${iso(T0 + 1)}`;
  const cases: Array<[string, string, number, RegExp]> = [
    ['GET', `${base}&aggregate=avg`, 400, /interval/],
    ['GET', `${base}&interval=1m`, 400, /need aggregate/],
    ['GET', `${base}&aggregate=avg&interval=soon`, 400, /not a duration/],
    ['GET', `${APP}/data?endpointId=${e1}&timeSeriesName=x&fromDate=yesterday&toDate=1`, 400, /fromDate/],
    ['GET', `${APP}/data?endpointId=${e1}&timeSeriesName=x&fromDate=10&toDate=1`, 400, /toDate must not be before/],
    ['GET', `${APP}/data?endpointId=${e1}&fromDate=1&toDate=2`, 400, /timeSeriesName/],
    ['GET', `/epts/api/v1/applications/nope/time-series/last?timeSeriesName=x`, 404, /nope/],
  ];
  for (const [method, route, status, message] of cases) {
    const response = await api<{ message: string }>(running, method, route);
    assert.equal(response.status, status, route);
    assert.match(response.body.message, message, route);
  }
  const undefinedSeries = await api<{ code: string }>(running, 'POST', `${APP}/data`, { [e1]: { Nope: [{ timestamp: 1, values: { value: 1 } }] } });
  assert.equal(undefinedSeries.body.code, 'TIME_SERIES_NOT_DEFINED');
  const otherEndpoint = await api<{ code: string }>(running, 'POST', `${APP}/data`, { ghost: { 'auto~x': [{ timestamp: 1, values: { value: 1 } }] } });
  assert.equal(otherEndpoint.body.code, 'ENDPOINT_NOT_FOUND');
  const badValue = await api<{ code: string }>(running, 'POST', `${APP}/data`, { [e1]: { 'auto~x': [{ timestamp: 1, values: { value: { a: 1 } } }] } });
  assert.equal(badValue.status, 400);
  const noAuth = await fetch(`http://127.0.0.1:${running.httpPort}${base}`);
  assert.equal(noAuth.status, 401);
});

test('EPTS write: the body schema keeps value types, refuses what it cannot store with the field path, and CSV quotes what needs it', async (t) => {
  const { running, e1 } = await seeded(t);
  const at = (i: number) => iso(T0 + 3_600_000 + i);
  const written = await api<{ stored: number }>(running, 'POST', `${APP}/data`, {
    [e1]: { 'auto~mixed': [{ timestamp: at(0), values: { value: '5', note: 'a, "quoted"\nline', ok: false } }, { timestamp: at(1), values: { value: 0, ok: true } }] },
  });
  assert.equal(written.status, 200, JSON.stringify(written.body));
  const range = `${APP}/data?endpointId=${e1}&timeSeriesName=auto~mixed&fromDate=${at(0)}&toDate=${at(1)}`;
  const read = await api<Series>(running, 'GET', range);
  assert.deepEqual(read.body[0]![e1]!['auto~mixed']!.map((p) => p.values), [{ value: '5', note: 'a, "quoted"\nline', ok: false }, { value: 0, ok: true }]);
  const csv = await fetch(`http://127.0.0.1:${running.httpPort}${range}&format=csv`, { headers: { authorization: `Bearer ${running.adminApiKey}` } });
  assert.equal(await csv.text(), [
    'endpointId,timeSeriesName,timestamp,value,note,ok',
    `${e1},auto~mixed,${at(0)},5,"a, ""quoted""\nline",false`,
    `${e1},auto~mixed,${at(1)},0,,true`,
    '',
  ].join('\r\n'));

  const refused: Array<[unknown, RegExp]> = [
    [{ [e1]: { 'auto~x': [{ timestamp: 1, values: { value: null } }] } }, new RegExp(`body\\.${e1}\\.auto~x\\[0\\]\\.values\\.value must be number,boolean,string`)],
    [{ [e1]: { 'auto~x': [{ timestamp: null, values: { value: 1 } }] } }, /timestamp must be string,number/],
    [{ [e1]: { 'auto~x': [{ values: { value: 1 } }] } }, /timestamp is missing \(ISO-8601/],
    [{ [e1]: { 'auto~x': [{ timestamp: 1, values: {} }] } }, /values must NOT have fewer than 1 properties/],
    [{ [e1]: { 'auto~x': { timestamp: 1, values: { value: 1 } } } }, /auto~x must be array/],
    [[{ [e1]: [] }], new RegExp(`body\\[0\\]\\.${e1} must be object`)],
    ['text', /body must be array,object/],
    [{ [e1]: { 'auto~x': [{ timestamp: 'soon', values: { value: 1 } }] } }, /timestamp "soon" is not a time/],
  ];
  for (const [body, message] of refused) {
    const response = await api<{ code: string; message: string }>(running, 'POST', `${APP}/data`, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.code, 'VALIDATION_FAILED', JSON.stringify(body));
    assert.match(response.body.message, message, JSON.stringify(body));
  }
});

test('definitions over REST: GET the defaults, PUT a document, EPTS config lists it, invalid ones are refused', async (t) => {
  const { running, e1 } = await seeded(t);
  const route = '/api/v1/applications/demo_application/time-series';
  assert.deepEqual((await api(running, 'GET', route)).body, { applicationName: 'demo_application', retentionDays: 90, timeSeries: [], versions: {} });
  const doc = {
    retentionDays: 30,
    timeSeries: [{ name: 'Fuel', valueField: 'fuel', tagFields: [{ name: 'tank', required: false }] }],
    versions: { demo_application_v1: { timestamp: { path: '$.ts', format: 'seconds-unix-epoch', fallbackStrategy: 'skip' }, extractAll: false } },
  };
  const put = await api(running, 'PUT', route, doc);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(put.body, { applicationName: 'demo_application', ...doc });
  assert.deepEqual((await api(running, 'GET', route)).body, { applicationName: 'demo_application', ...doc });
  const config = await api<Record<string, unknown>>(running, 'GET', '/epts/api/v1/time-series/config');
  assert.deepEqual(config.body['demo_application'], [
    { name: 'Fuel', values: ['value', 'tank'] },
    { name: 'auto~on', values: ['value'] },
    { name: 'auto~temp', values: ['value'] },
  ]);
  // The new rules apply to the next device batch: seconds timestamps, no extract-all.
  const { token } = await createEndpoint(running);
  void e1;
  for (const bad of [
    { timeSeries: [{ name: 'a', valueField: 'x' }, { name: 'a', valueField: 'y' }] },
    { timeSeries: [{ name: 'auto~a', valueField: 'x' }] },
    { retentionDays: 0 },
    { versions: { other_v1: { extractAll: true } } },
    { versions: { demo_application_v1: { timestamp: { format: 'weekly' } } } },
  ]) {
    const response = await api<{ code: string }>(running, 'PUT', route, bad);
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.equal(response.body.code, 'VALIDATION_FAILED');
  }
  assert.equal((await api(running, 'PUT', '/api/v1/applications/nope/time-series', {})).status, 404);
  assert.ok(token);
});

test('definitions PUT: the body schema names the field, null means the default, nothing is coerced', async (t) => {
  const { running } = await seeded(t);
  const route = '/api/v1/applications/demo_application/time-series';
  const refused: Array<[unknown, RegExp]> = [
    [{ retentionDays: '30' }, /body\.retentionDays must be integer,null/],
    [{ retentionDays: 1.5 }, /body\.retentionDays must be integer/],
    [{ timeSeries: [{ name: 'a b', valueField: 'x' }] }, /body\.timeSeries\[0\]\.name must match pattern .*\(1-128 characters/],
    [{ timeSeries: [{ name: 'a' }] }, /body\.timeSeries\[0\]\.valueField is missing/],
    [{ versions: { demo_application_v1: { extractAll: 'yes' } } }, /body\.versions\.demo_application_v1\.extractAll must be boolean,null/],
    [{ versions: { demo_application_v1: { timestamp: { fallbackStrategy: 'guess' } } } }, /fallbackStrategy must be one of "server-timestamp", "skip", null/],
    [[], /body must be object/],
  ];
  for (const [body, message] of refused) {
    const response = await api<{ code: string; message: string }>(running, 'PUT', route, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.code, 'VALIDATION_FAILED', JSON.stringify(body));
    assert.match(response.body.message, message, JSON.stringify(body));
  }
  const defaults = await api(running, 'PUT', route, { retentionDays: null, timeSeries: null, versions: { demo_application_v1: { timestamp: null, extractAll: null } } });
  assert.equal(defaults.status, 200, JSON.stringify(defaults.body));
  assert.deepEqual(defaults.body, {
    applicationName: 'demo_application',
    retentionDays: 90,
    timeSeries: [],
    versions: { demo_application_v1: { timestamp: { format: 'millis-unix-epoch', fallbackStrategy: 'server-timestamp' }, extractAll: false } },
  });
  // The format is matched without regard to case, as in the config file.
  const upper = await api(running, 'PUT', route, { versions: { demo_application_v1: { timestamp: { path: '$.t', format: 'SECONDS-UNIX-EPOCH' } } } });
  assert.equal(upper.status, 200, JSON.stringify(upper.body));
});

test('retention: points older than the application retention are deleted in the background pass', async (t) => {
  const { running, e1 } = await seeded(t);
  const now = Date.now();
  await api(running, 'POST', `${APP}/data`, { [e1]: { 'auto~old': [{ timestamp: now - 100 * 86_400_000, values: { value: 1 } }, { timestamp: now - 10 * 86_400_000, values: { value: 2 } }] } });
  await api(running, 'PUT', '/api/v1/applications/demo_application/time-series', { retentionDays: 30 });
  const deleted = await running.timeSeries!.enforceRetention();
  assert.ok(deleted >= 1);
  const data = await api<Series>(running, 'GET', `${APP}/data?endpointId=${e1}&timeSeriesName=auto~old&fromDate=0&toDate=${now}`);
  assert.deepEqual(data.body[0]![e1]!['auto~old']!.map((p) => p.values['value']), [2]);
});

test('live: stored points publish one coalesced time-series.appended per endpoint, forwarded to the dashboard stream', async (t) => {
  const { running, e1 } = await seeded(t);
  const events: TetherEvent[] = [];
  const unsubscribe = running.bus.subscribe((event) => {
    if (event.type === 'time-series.appended' && event.endpointId === e1 && event.latest['auto~temp']?.timestamp !== iso(T0 + 9 * 60_000)) events.push(event);
  });
  t.after(unsubscribe);
  for (let i = 0; i < 20; i++) {
    await api(running, 'POST', `${APP}/data`, { [e1]: { 'auto~temp': [{ timestamp: T0 + 1e9 + i, values: { value: i } }] } });
  }
  await waitFor('a time-series.appended event', () => events.length > 0, 2000);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(events.length >= 1 && events.length < 20, `coalesced: ${events.length} events for 20 writes`);
  const last = events.at(-1) as Extract<TetherEvent, { type: 'time-series.appended' }>;
  assert.equal(last.endpointId, e1);
  assert.equal(last.applicationName, 'demo_application');
  assert.deepEqual(last.latest['auto~temp'], { timestamp: iso(T0 + 1e9 + 19), values: { value: 19 } });
  assert.deepEqual(toDashboardEvent(last), { type: 'time-series.appended', endpointId: e1, at: last.at, latest: last.latest });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { loadConfig } from '../../src/config/index.js';
import { isTetherError } from '../../src/core/errors.js';
import { parseBatch } from '../../src/extensions/dcx/payload.js';
import { defaultExtraction, emptyDefinitions, normaliseDefinitions } from '../../src/time-series/definitions.js';
import type { AppDefinitions, Extraction } from '../../src/time-series/definitions.js';
import { parseDuration } from '../../src/time-series/duration.js';
import { extractPoints, parsePath, timestampOf } from '../../src/time-series/extract.js';
import { TUTORIAL_YAML } from './fixtures.js';

const RECEIVED = Date.UTC(2026, 11, 1, 2, 0, 0);
const rules = (timestamp: Partial<Extraction['timestamp']>, extractAll = false): Extraction => ({
  timestamp: { format: 'millis-unix-epoch', fallbackStrategy: 'server-timestamp', ...timestamp },
  extractAll,
});

test('timestamp formats: millis, seconds, ISO-8601 (with and without a zone), nested paths', () => {
  assert.equal(timestampOf({ ts: 1555230312868 }, rules({ path: '$.ts' }), RECEIVED), 1555230312868);
  assert.equal(timestampOf({ ts: '1555230312868' }, rules({ path: 'ts' }), RECEIVED), 1555230312868);
  assert.equal(timestampOf({ ts: 1555230312.5 }, rules({ path: '$.ts', format: 'seconds-unix-epoch' }), RECEIVED), 1555230312500);
  assert.equal(timestampOf({ ts: '2019-04-26T15:41:07+0000' }, rules({ path: '$.ts', format: 'iso-8601' }), RECEIVED), Date.UTC(2019, 3, 26, 15, 41, 7));
  assert.equal(timestampOf({ ts: '2019-04-26T15:41:07.250Z' }, rules({ path: '$.ts', format: 'iso-8601' }), RECEIVED), Date.UTC(2019, 3, 26, 15, 41, 7, 250));
  assert.equal(timestampOf({ ts: '2019-04-26T15:41:07' }, rules({ path: '$.ts', format: 'iso-8601' }), RECEIVED), Date.UTC(2019, 3, 26, 15, 41, 7), 'no zone: UTC');
  assert.equal(timestampOf({ meta: { 'the time': 5 } }, rules({ path: "$.meta['the time']" }), RECEIVED), 5);
  assert.deepEqual(parsePath('$.a.b'), ['a', 'b']);
  assert.deepEqual(parsePath('a'), ['a']);
});

test('timestamp fallback: server-timestamp takes the receipt time, skip drops the sample; no path always takes the receipt time', () => {
  for (const sample of [{}, { ts: 'yesterday' }, { ts: -5 }, { ts: { nested: 1 } }, { ts: 1e20 }]) {
    assert.equal(timestampOf(sample, rules({ path: '$.ts' }), RECEIVED), RECEIVED, JSON.stringify(sample));
    assert.equal(timestampOf(sample, rules({ path: '$.ts', fallbackStrategy: 'skip' }), RECEIVED), undefined, JSON.stringify(sample));
  }
  assert.equal(timestampOf({ ts: 'bad' }, rules({ path: '$.ts', format: 'iso-8601' }), RECEIVED), RECEIVED);
  assert.equal(timestampOf({ ts: 5 }, rules({}), RECEIVED), RECEIVED);
});

const tutorialDefs: AppDefinitions = normaliseDefinitions('demo_application', {
  timeSeries: [
    { name: 'Temperature', valueField: 'temperature' },
    { name: 'Location', valueField: 'timestamp', tagFields: [{ name: 'latitude', required: true }, { name: 'longitude', required: true }, { name: 'driver' }] },
  ],
});

test('defined series: value field, tags, required tags, optional tags', () => {
  const groups = extractPoints('e1', [
    { timestamp: 1000, temperature: 98, latitude: 37.3, longitude: -122, driver: 'Ann' },
    { timestamp: 2000, temperature: 99, latitude: 37.4 }, // no longitude: no Location point
    { timestamp: 3000, latitude: 1, longitude: 2 }, // no temperature
    { timestamp: 4000, temperature: { c: 1 } }, // not a primitive: no point
  ], tutorialDefs, rules({ path: '$.timestamp' }), RECEIVED);
  assert.deepEqual(groups, [
    { endpointId: 'e1', series: 'Temperature', points: [{ t: 1000, values: { value: 98 } }, { t: 2000, values: { value: 99 } }] },
    {
      endpointId: 'e1',
      series: 'Location',
      points: [
        { t: 1000, values: { value: 1000, latitude: 37.3, longitude: -122, driver: 'Ann' } },
        { t: 3000, values: { value: 3000, latitude: 1, longitude: 2 } },
      ],
    },
  ]);
});

test('extract-all: every top-level number or boolean becomes auto~<field>; strings, objects and the timestamp field do not', () => {
  const groups = extractPoints('e1', [{ timestamp: 1000, a: 1.5, on: true, name: 'x', nested: { b: 2 }, list: [1] }], emptyDefinitions('app'), rules({ path: '$.timestamp' }, true), RECEIVED);
  assert.deepEqual(groups, [
    { endpointId: 'e1', series: 'auto~a', points: [{ t: 1000, values: { value: 1.5 } }] },
    { endpointId: 'e1', series: 'auto~on', points: [{ t: 1000, values: { value: true } }] },
  ]);
  assert.deepEqual(extractPoints('e1', [{ a: 1 }], emptyDefinitions('app'), rules({ path: '$.timestamp' }, false), RECEIVED), []);
  // The default for versions without rules: timestamp from $.timestamp, extract-all on.
  assert.deepEqual(extractPoints('e1', [{ a: 1 }], emptyDefinitions('app'), defaultExtraction(), RECEIVED), [
    { endpointId: 'e1', series: 'auto~a', points: [{ t: RECEIVED, values: { value: 1 } }] },
  ]);
});

test('2/DCP payload: an array of objects, or one object; other JSON is PAYLOAD_INVALID, anything else PAYLOAD_NOT_JSON', () => {
  assert.deepEqual(parseBatch(Buffer.from('[{"a":1},{"b":2}]')), [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(parseBatch(Buffer.from('{"a":1}')), [{ a: 1 }]);
  assert.deepEqual(parseBatch(Buffer.from('[]')), []);
  for (const bad of ['1', '"s"', 'null', '[1]', '[[]]', '[null]']) {
    assert.throws(() => parseBatch(Buffer.from(bad)), (err: unknown) => isTetherError(err) && err.code === 'PAYLOAD_INVALID', bad);
  }
  for (const bad of ['', 'x', Buffer.from([0xff, 0xfe])]) {
    assert.throws(() => parseBatch(Buffer.isBuffer(bad) ? bad : Buffer.from(bad)), (err: unknown) => isTetherError(err) && err.code === 'PAYLOAD_NOT_JSON', String(bad));
  }
  assert.throws(() => parseBatch(Buffer.from(JSON.stringify(Array.from({ length: 10_001 }, () => ({}))))), /more than 10000/);
});

test('config file: the tutorial YAML block is accepted verbatim', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(file, `${TUTORIAL_YAML}timeSeries:\n  retentionDays: 30\n  maxSeriesPerEndpoint: 50\n  applications:\n    other: { retentionDays: 7 }\napplications:\n- name: other\n`);
  const config = await loadConfig(['--config', file], {}, { cwd: dir });
  assert.deepEqual(config.timeSeries, {
    retentionDays: 30,
    maxSeriesPerEndpoint: 50,
    retentionByApp: { other: 7 },
    declared: [
      {
        applicationName: 'demo_application',
        retentionDays: 30,
        timeSeries: [
          { name: 'Temperature', valueField: 'temperature', tagFields: [] },
          { name: 'FuelLevel', valueField: 'fuelLevel', tagFields: [] },
          { name: 'Location', valueField: 'timestamp', tagFields: [{ name: 'latitude', required: true }, { name: 'longitude', required: true }] },
        ],
        versions: {
          demo_application_v1: {
            timestamp: { path: '$.timestamp', format: 'millis-unix-epoch', fallbackStrategy: 'server-timestamp' },
            extractAll: true,
          },
        },
      },
    ],
  });
  // Applications named under kaa: must exist (issue 18 trap 4).
  const declareA = 'applications:\n- name: a\n  versions:\n  - name: a_v1\n';
  fs.writeFileSync(file, declareA + 'kaa:\n  applications:\n    a:\n      versions:\n        a_v1:\n          extraction:\n            timestamp: { path: ts, format: weekly }\n');
  await assert.rejects(loadConfig(['--config', file], {}, { cwd: dir }), /a_v1\.extraction\.timestamp\.format must be one of millis-unix-epoch, seconds-unix-epoch, iso-8601/);
  fs.writeFileSync(file, declareA + 'kaa:\n  applications:\n    a:\n      time-series:\n      - name: x\n');
  await assert.rejects(loadConfig(['--config', file], {}, { cwd: dir }), /value-field must be the JSON path/);
  fs.writeFileSync(file, 'timeSeries:\n  maxSeriesPerEndpoint: 0\n');
  await assert.rejects(loadConfig(['--config', file], {}, { cwd: dir }), /timeSeries\.maxSeriesPerEndpoint must be a whole number from 1 to 1000000/);
});

test('durations for aggregate intervals', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('PT1M'), 60_000);
  assert.equal(parseDuration('P1DT2H'), 93_600_000);
  assert.equal(parseDuration('250'), 250);
  for (const bad of ['', 'P', 'PT', '1y', 'abc', '0']) assert.equal(parseDuration(bad), undefined, bad);
});

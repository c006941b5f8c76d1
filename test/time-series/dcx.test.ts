/**
 * Kaa's data collection tutorial end to end on a whole Tether: the tutorial's YAML pasted into the
 * config file, a device that publishes like the tutorial's client (QoS 0, request ID, never
 * subscribes) gets its `/status`, and the points are in EPTS's `/time-series/data`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import { api, createEndpoint, start, testConfig } from '../platform/helpers.js';
import { TUTORIAL_YAML } from './fixtures.js';
import { MAX_SERIES_PER_BATCH } from '../../src/time-series/service.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';
import type { Cleanup } from '../helpers/tmp.js';


type Series = Array<Record<string, Record<string, Array<{ timestamp: string; values: Record<string, unknown> }>>>>;

async function device(t: Cleanup, port: number): Promise<{ client: MqttClient; replies: Array<{ topic: string; payload: Buffer }> }> {
  const client = await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => client.end(true));
  const replies: Array<{ topic: string; payload: Buffer }> = [];
  // No subscription: Tether delivers 1/KP replies to the requesting session.
  client.on('message', (topic, payload) => replies.push({ topic, payload }));
  return { client, replies };
}

function tutorialConfig(t: Cleanup, dir: string) {
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(file, TUTORIAL_YAML);
  return testConfig(path.join(dir, 'data'), ['--config', file]);
}

test('data collection tutorial: QoS 0 batch with a request ID gets an empty /status without subscribing; EPTS serves the points', async (t) => {
  const dir = tempDir(t);
  const running = await start(t, await tutorialConfig(t, dir));
  const { endpointId, token } = await createEndpoint(running);
  const { client, replies } = await device(t, running.mqttPort);

  const topic = `kp1/demo_application_v1/dcx/${token}/json`;
  const sample = { latitude: 37.35119, timestamp: 1555230312868, temperature: 98, longitude: -122.03248, fuelLevel: 100 };
  await client.publishAsync(`${topic}/23`, JSON.stringify([sample]), { qos: 0 });
  await waitFor('status reply', async () => replies, { until: (r) => r.length === 1 });
  assert.equal(replies[0]!.topic, `${topic}/23/status`);
  assert.equal(replies[0]!.payload.length, 0, '2/DCP: success has a zero-length payload');

  const config = await api<Record<string, Array<{ name: string; values: string[] }>>>(running, 'GET', '/epts/api/v1/time-series/config?applicationNames=demo_application');
  assert.equal(config.status, 200);
  assert.deepEqual(config.body['demo_application']!.slice(0, 3), [
    { name: 'Temperature', values: ['value'] },
    { name: 'FuelLevel', values: ['value'] },
    { name: 'Location', values: ['value', 'latitude', 'longitude'] },
  ]);
  assert.deepEqual(config.body['demo_application']!.slice(3).map((s) => s.name), ['auto~fuelLevel', 'auto~latitude', 'auto~longitude', 'auto~temperature']);

  const query = `endpointId=${endpointId}&timeSeriesName=Temperature,Location,auto~fuelLevel&fromDate=2019-04-14T00:00:00Z&toDate=2019-04-15T00:00:00Z`;
  const data = await api<Series>(running, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?${query}`);
  assert.equal(data.status, 200, JSON.stringify(data.body));
  const at = new Date(sample.timestamp).toISOString();
  assert.deepEqual(data.body, [
    {
      [endpointId]: {
        Temperature: [{ timestamp: at, values: { value: 98 } }],
        Location: [{ timestamp: at, values: { value: sample.timestamp, latitude: 37.35119, longitude: -122.03248 } }],
        'auto~fuelLevel': [{ timestamp: at, values: { value: 100 } }],
      },
    },
  ]);
});

test('data collection: a QoS 1 batch sent again (its PUBACK lost) stores nothing twice; a corrected sample replaces its time', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId, token } = await createEndpoint(running);
  const { client } = await device(t, running.mqttPort);
  const topic = `kp1/demo_application_v1/dcx/${token}/json`;
  const batch = [
    { timestamp: 1555230312868, temperature: 98 },
    { timestamp: 1555230315868, temperature: 99 },
  ];
  await client.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
  await client.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
  await client.publishAsync(topic, JSON.stringify([{ timestamp: 1555230315868, temperature: 97 }]), { qos: 1 });
  const query = `endpointId=${endpointId}&timeSeriesName=auto~temperature&fromDate=2019-04-14T00:00:00Z&toDate=2019-04-15T00:00:00Z`;
  const data = await api<Series>(running, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?${query}`);
  assert.deepEqual(
    data.body[0]![endpointId]!['auto~temperature']!.map((p) => p.values['value']),
    [98, 97],
  );
});

test('data collection: errors come back on /error with the 1/KP error payload', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { token } = await createEndpoint(running);
  const { client, replies } = await device(t, running.mqttPort);
  const topic = `kp1/demo_application_v1/dcx/${token}/json`;
  const cases: Array<[string, string]> = [
    ['not json', 'not valid UTF-8 JSON'],
    ['42', 'not an array'],
    ['[1,2]', 'element 0'],
    // Extract-all would make 1,001 series of one sample: refused whole, nothing stored.
    [JSON.stringify([Object.fromEntries(Array.from({ length: MAX_SERIES_PER_BATCH + 1 }, (_, i) => [`f${i}`, i]))]), 'at most 1000 time series: its samples make 1001'],
  ];
  for (const [i, [payload]] of cases.entries()) await client.publishAsync(`${topic}/${i + 1}`, payload, { qos: 0 });
  await client.publishAsync(`kp1/demo_application_v1/dcx/${token}/xml/9`, '[]', { qos: 0 });
  await client.publishAsync('kp1/demo_application_v1/dcx/no-such-token/json/10', '[]', { qos: 0 });
  await waitFor('error replies', async () => replies, { until: (r) => r.length === 6 });
  const unknownToken = replies.find((r) => r.topic === 'kp1/demo_application_v1/dcx/no-such-token/json/10/error');
  assert.equal((JSON.parse(unknownToken!.payload.toString()) as { statusCode: number }).statusCode, 401);
  for (const [i, [, hint]] of cases.entries()) {
    const reply = replies.find((r) => r.topic === `${topic}/${i + 1}/error`);
    assert.ok(reply, `an /error for request ${i + 1}`);
    const body = JSON.parse(reply.payload.toString()) as { statusCode: number; reasonPhrase: string };
    assert.equal(body.statusCode, 400);
    assert.match(body.reasonPhrase, new RegExp(hint));
  }
  const unknown = replies.find((r) => r.topic.endsWith('/xml/9/error'));
  assert.equal((JSON.parse(unknown!.payload.toString()) as { statusCode: number }).statusCode, 404);
  assert.deepEqual(await running.timeSeries.storage.seriesNames('demo_application'), []);
});

// docs/telemetry.md: "A refused batch stores nothing": one bad element refuses the whole batch, so a
// device never has to guess which of its samples were kept.
test('data collection: a batch with valid samples and one that is not an object is refused whole: /error, nothing stored', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId, token } = await createEndpoint(running);
  const { client, replies } = await device(t, running.mqttPort);
  const topic = `kp1/demo_application_v1/dcx/${token}/json`;
  const mixed = [{ timestamp: 1555230312868, temperature: 50 }, 7, { timestamp: 1555230315868, temperature: 51 }];
  await client.publishAsync(`${topic}/31`, JSON.stringify(mixed), { qos: 1 });
  await waitFor('the reply to the mixed batch', async () => replies, { until: (r) => r.length === 1 });
  assert.equal(replies[0]!.topic, `${topic}/31/error`, 'no /status for a batch that was not stored whole');
  const body = JSON.parse(replies[0]!.payload.toString()) as { statusCode: number; reasonPhrase: string };
  assert.equal(body.statusCode, 400);
  assert.match(body.reasonPhrase, /element 1 is a number, not an object/);
  assert.deepEqual(await running.timeSeries.storage.seriesNames('demo_application'), []);
  const query = `endpointId=${endpointId}&timeSeriesName=auto~temperature&fromDate=2019-04-14T00:00:00Z&toDate=2019-04-15T00:00:00Z`;
  const data = await api<Series>(running, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?${query}`);
  assert.equal(data.status, 200, JSON.stringify(data.body));
  assert.deepEqual(data.body[0]?.[endpointId]?.['auto~temperature'] ?? [], [], 'none of the valid samples is stored');
});

test('data collection: a QoS 1 batch acknowledged before a restart is still there after it', async (t) => {
  const dir = tempDir(t);
  const config = await testConfig(path.join(dir, 'data'));
  const first = await start(t, config);
  const { endpointId, token } = await createEndpoint(first);
  const { client, replies } = await device(t, first.mqttPort);
  const topic = `kp1/demo_application_v1/dcx/${token}/json`;
  const samples = Array.from({ length: 50 }, (_, i) => ({ timestamp: 1_700_000_000_000 + i * 1000, level: i }));
  // The PUBACK of a QoS 1 publish comes only after the batch is committed.
  await client.publishAsync(`${topic}/1`, JSON.stringify(samples), { qos: 1 });
  await waitFor('status', async () => replies, { until: (r) => r.length === 1 });
  client.end(true);
  await first.stop();

  const second = await start(t, { ...config, mqttPort: 0, httpPort: 0 });
  const data = await api<Series>(second, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?endpointId=${endpointId}&timeSeriesName=auto~level&fromDate=0&toDate=1800000000000`);
  assert.equal(data.status, 200);
  const points = data.body[0]![endpointId]!['auto~level']!;
  assert.equal(points.length, 50);
  assert.deepEqual(points.map((p) => p.values['value']), samples.map((s) => s.level));
});

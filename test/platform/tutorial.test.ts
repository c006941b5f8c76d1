/**
 * The tutorial ("How to connect a device?") end to end against a whole Tether on free ports:
 * REST to create the endpoint, a stock MQTT client as the device, REST again to see the result.
 */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, connectAsync } from 'mqtt';
import {
  DISCONNECT_PACKET,
  api,
  connectPacket,
  createEndpoint,
  publishQos0Packet,
  start,
  testConfig,
} from './helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import type { RunningTether } from '../../src/platform/tether.js';

const TUTORIAL_PAYLOAD = '{"model":"MySmartMeter A300","mac":"00-14-22-01-23-45"}';
const TUTORIAL_METADATA = { model: 'MySmartMeter A300', mac: '00-14-22-01-23-45' };

interface EndpointBody {
  endpointId: string;
  connected: boolean;
  metadata?: Record<string, unknown>;
}

const getEndpoint = async (running: RunningTether, id: string) =>
  (await api<EndpointBody>(running, 'GET', `/epr/api/v1/endpoints/${id}?include=metadata`)).body;

test('tutorial flow: REST endpoint, device with its token, partial updates, connectivity', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId, token } = await createEndpoint(running, { metadata: { meterDescription: 'Basement meter' } });

  const device = await connectAsync({ host: '127.0.0.1', port: running.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => device.end(true));

  // 10/EPMP update/keys with a request ID, so the 1/KP status reply tells us it was applied.
  const topic = `kp1/demo_application_v1/epmx/${token}/update/keys`;
  await device.subscribeAsync([`${topic}/1/status`, `${topic}/1/error`, `${topic}/2/status`, `${topic}/2/error`]);
  const replies: string[] = [];
  device.on('message', (replyTopic) => replies.push(replyTopic.slice(topic.length + 1)));
  await device.publishAsync(`${topic}/1`, TUTORIAL_PAYLOAD, { qos: 1 });
  await waitFor('reply to request 1', async () => replies, { until: (r) => r.length === 1 });
  assert.deepEqual(replies, ['1/status']);

  const connected = await waitFor('endpoint connected', () => getEndpoint(running, endpointId), { until: (e) => e.connected });
  assert.deepEqual(connected.metadata, { meterDescription: 'Basement meter', ...TUTORIAL_METADATA });

  // A partial update only touches its keys.
  await device.publishAsync(`${topic}/2`, '{"mac":"00-14-22-01-23-46","fw":"1.0.1"}', { qos: 0 });
  await waitFor('reply to request 2', async () => replies, { until: (r) => r.length === 2 });
  assert.deepEqual(replies, ['1/status', '2/status']);

  const list = await api<{ totalElements: number; content: EndpointBody[] }>(
    running,
    'GET',
    '/epr/api/v1/endpoints?applicationName=demo_application&include=metadata&offset=0&limit=10',
  );
  assert.equal(list.status, 200);
  assert.equal(list.body.totalElements, 1);
  assert.equal(list.body.content[0]?.endpointId, endpointId);
  assert.deepEqual(list.body.content[0]?.metadata, {
    meterDescription: 'Basement meter',
    model: 'MySmartMeter A300',
    mac: '00-14-22-01-23-46',
    fw: '1.0.1',
  });

  await device.endAsync();
  await waitFor('endpoint disconnected', () => getEndpoint(running, endpointId), { until: (e) => !e.connected });

  const tokens = await api<Array<{ status: string }>>(running, 'GET', `/cm/api/v1/endpoints/${endpointId}/tokens`);
  assert.deepEqual(tokens.body.map((tk) => tk.status), ['ACTIVE'], 'first use activates the token');
});

test('acceptance: raw CONNECT + QoS 0 PUBLISH + DISCONNECT in one write, no wait for CONNACK', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId, token } = await createEndpoint(running);

  const socket = net.connect(running.mqttPort, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  // Exactly what an impatient stock client puts on the wire, then it hangs up.
  socket.end(
    Buffer.concat([
      connectPacket('MySmartMeter-A300'),
      publishQos0Packet(`kp1/demo_application_v1/epmx/${token}/update/keys`, TUTORIAL_PAYLOAD),
      DISCONNECT_PACKET,
    ]),
  );

  const endpoint = await waitFor('metadata of the raw client', () => getEndpoint(running, endpointId), { until: (e) => e.metadata?.['model'] !== undefined });
  assert.deepEqual(endpoint.metadata, TUTORIAL_METADATA);
  await waitFor('endpoint disconnected', () => getEndpoint(running, endpointId), { until: (e) => !e.connected });
});

test('acceptance: mqtt.js publishes from its offline queue and disconnects as soon as it is connected', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId, token } = await createEndpoint(running);

  // The publish is issued before CONNACK (it waits in mqtt.js' queue) and DISCONNECT follows it
  // in the same write. (mqtt.js drops its queue if end() comes before CONNACK, so not earlier.)
  const client = connect({ host: '127.0.0.1', port: running.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  client.on('error', () => {});
  client.publish(`kp1/demo_application_v1/epmx/${token}/update/keys`, TUTORIAL_PAYLOAD, { qos: 0 });
  client.once('connect', () => client.end());
  t.after(() => client.end(true));

  const endpoint = await waitFor('metadata of the queued publish', () => getEndpoint(running, endpointId), { until: (e) => e.metadata?.['model'] !== undefined });
  assert.deepEqual(endpoint.metadata, TUTORIAL_METADATA);
});

test('a device with an unknown token gets a 1/KP 401 error reply and no endpoint changes', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const { endpointId } = await createEndpoint(running);
  const device = await connectAsync({ host: '127.0.0.1', port: running.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => device.end(true));
  const topic = 'kp1/demo_application_v1/epmx/not-a-token/update/keys/9';
  // No subscription: an unknown token entitles to none (SUBACK 0x80); Kaa clients get replies on the requesting connection anyway.
  const reply = new Promise<[string, string]>((resolve) => device.once('message', (tp, payload) => resolve([tp, payload.toString()])));
  await device.publishAsync(topic, TUTORIAL_PAYLOAD, { qos: 0 });
  const [replyTopic, payload] = await reply;
  assert.equal(replyTopic, `${topic}/error`);
  assert.equal((JSON.parse(payload) as { statusCode: number }).statusCode, 401);
  assert.deepEqual((await getEndpoint(running, endpointId)).metadata, {});
});

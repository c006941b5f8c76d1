/**
 * The same 1/KP behaviour on every transport (TCP, MQTT over TLS, WebSocket and secure WebSocket) and
 * both protocol levels (MQTT 3.1.1 and 5.0), each against a whole Tether (TLS configured) with real
 * mqtt@5 clients.
 */
import { describe, test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { DISCONNECT_PACKET, api, connectPacket, createEndpoint, publishQos0Packet } from '../platform/helpers.js';
import type { RunningTether } from '../../src/platform/tether.js';
import { TRANSPORTS, startSecure } from './setup.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

const TUTORIAL_PAYLOAD = '{"model":"MySmartMeter A300","mac":"00-14-22-01-23-45"}';
const TUTORIAL_METADATA = { model: 'MySmartMeter A300', mac: '00-14-22-01-23-45' };

interface EndpointBody {
  connected: boolean;
  metadata?: Record<string, unknown>;
}

const getEndpoint = async (running: RunningTether, id: string) =>
  (await api<EndpointBody>(running, 'GET', `/epr/api/v1/endpoints/${id}?include=metadata`)).body;

/**
 * Publishes with a request ID and resolves with the reply topic suffix and payload. Without
 * `subscribe`, the reply still arrives: Kaa clients get it on the requesting connection.
 */
async function request(client: MqttClient, topic: string, payload: string, subscribe = true): Promise<{ suffix: string; body: unknown; pubackReason?: number }> {
  if (subscribe) await client.subscribeAsync([`${topic}/status`, `${topic}/error`]);
  const reply = new Promise<{ suffix: string; body: unknown }>((resolve) => {
    const onMessage = (replyTopic: string, replyPayload: Buffer) => {
      if (!replyTopic.startsWith(`${topic}/`)) return;
      client.off('message', onMessage);
      const text = replyPayload.toString('utf8');
      resolve({ suffix: replyTopic.slice(topic.length + 1), body: text === '' ? undefined : JSON.parse(text) });
    };
    client.on('message', onMessage);
  });
  // MQTT 5: a refused request's PUBACK carries a failure reason code; mqtt.js reports it as an error.
  const pubackReason = await client.publishAsync(topic, payload, { qos: 1 }).then(
    () => undefined,
    (err: { code?: number }) => err.code,
  );
  return { ...(await reply), ...(pubackReason !== undefined && { pubackReason }) };
}

for (const transport of TRANSPORTS) {
  for (const protocolVersion of [4, 5] as const) {
  describe(`1/KP over ${transport.name}, MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}`, () => {
    test('tutorial: update/keys with a request ID gets /status, the metadata is stored, the endpoint connects and disconnects', async (t) => {
      const running = await startSecure(t, tempDir(t));
      const { endpointId, token } = await createEndpoint(running);
      const device = await transport.connect(running, { protocolVersion });
      t.after(() => device.end(true));

      const topic = `kp1/demo_application_v1/epmx/${token}/update/keys`;
      assert.deepEqual(await request(device, `${topic}/1`, TUTORIAL_PAYLOAD), { suffix: 'status', body: undefined });
      const stored = await waitFor('endpoint connected', () => getEndpoint(running, endpointId), { until: (e) => e.connected });
      assert.deepEqual(stored.metadata, TUTORIAL_METADATA);

      // 10/EPMP get: the reply carries the whole metadata.
      const got = await request(device, `kp1/demo_application_v1/epmx/${token}/get/2`, '{}');
      assert.deepEqual(got, { suffix: 'status', body: TUTORIAL_METADATA });

      await device.endAsync();
      await waitFor('endpoint disconnected', () => getEndpoint(running, endpointId), { until: (e) => !e.connected });
    });

    test('an unknown token gets a 1/KP 401 /error reply on the requesting connection', async (t) => {
      const running = await startSecure(t, tempDir(t));
      const device = await transport.connect(running, { protocolVersion });
      t.after(() => device.end(true));
      const reply = await request(device, 'kp1/demo_application_v1/epmx/not-a-token/update/keys/7', TUTORIAL_PAYLOAD, false);
      assert.equal(reply.suffix, 'error');
      assert.equal((reply.body as { statusCode: number }).statusCode, 401);
      // MQTT 5 says it in the PUBACK too: 0x87 not authorized. 3.1.1 has no reason codes.
      assert.equal(reply.pubackReason, protocolVersion === 5 ? 0x87 : undefined);
    });

    // Longer than the 30 s default: a whole Tether with TLS is started for it (measured 12-14 s alone).
    test('CONNECT, PUBLISH and DISCONNECT in one write, then close without waiting: the update is applied', { timeout: 60_000 }, async (t) => {
      const running = await startSecure(t, tempDir(t));
      const { endpointId, token } = await createEndpoint(running);
      await transport.sendAndClose(
        running,
        protocolVersion === 4
          ? Buffer.concat([connectPacket(`pipelined-${transport.name}`), publishQos0Packet(`kp1/demo_application_v1/epmx/${token}/update/keys`, TUTORIAL_PAYLOAD), DISCONNECT_PACKET])
          : Buffer.concat([
              mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: `pipelined-${transport.name}-5`, keepalive: 60 }, { protocolVersion: 5 }),
              mqttPacket.generate({ cmd: 'publish', topic: `kp1/demo_application_v1/epmx/${token}/update/keys`, payload: TUTORIAL_PAYLOAD, qos: 0, retain: false, dup: false }, { protocolVersion: 5 }),
              mqttPacket.generate({ cmd: 'disconnect' }, { protocolVersion: 5 }),
            ]),
      );
      const endpoint = await waitFor('metadata of the pipelined client', () => getEndpoint(running, endpointId), { until: (e) => e.metadata?.['model'] !== undefined });
      assert.deepEqual(endpoint.metadata, TUTORIAL_METADATA);
      await waitFor('endpoint disconnected', () => getEndpoint(running, endpointId), { until: (e) => !e.connected });
    });
  });
  }
}

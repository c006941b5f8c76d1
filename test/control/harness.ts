/** A running Tether with a real device (mqtt.js over a real socket) for the 7/CMP and 11/CEP tests. */
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { RunningTether } from '../../src/platform/tether.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import type { Cleanup } from '../helpers/tmp.js';
import { Inbox } from '../transport/harness.js';

export { api } from '../platform/helpers.js';
export { Inbox } from '../transport/harness.js';

export const VERSION = 'demo_application_v1';

export interface Device {
  client: MqttClient;
  inbox: Inbox;
  endpointId: string;
  token: string;
  topic(extension: string, resource: string, requestId?: number): string;
  /** Publishes a request with an ID and waits (with a deadline) for its `/status` or `/error`. */
  request(extension: string, resource: string, payload: unknown, requestId: number): Promise<{ kind: 'status' | 'error'; json: unknown }>;
  /** Messages received on a topic so far, parsed. */
  received(topic: string): unknown[];
}

export async function startPlatform(t: Cleanup, flags: string[] = []): Promise<RunningTether> {
  return start(t, await testConfig(tempDir(t), flags));
}

/** An endpoint and a device for it; `greet` sends one 10/EPMP request so the server knows the session. */
export async function connectDevice(t: Cleanup, running: RunningTether, options: { endpoint?: { endpointId: string; token: string }; greet?: boolean; mqtt?: IClientOptions; host?: string } = {}): Promise<Device> {
  const endpoint = options.endpoint ?? (await createEndpoint(running));
  const client = await connectAsync(`mqtt://${options.host ?? '127.0.0.1'}:${running.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options.mqtt });
  t.after(() => client.endAsync(true).catch(() => {}));
  const inbox = new Inbox(client);
  const topic = (extension: string, resource: string, requestId?: number) => `kp1/${VERSION}/${extension}/${endpoint.token}/${resource}${requestId === undefined ? '' : `/${requestId}`}`;
  const device: Device = {
    client,
    inbox,
    ...endpoint,
    topic,
    async request(extension, resource, payload, requestId) {
      const requestTopic = topic(extension, resource, requestId);
      await client.publishAsync(requestTopic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
      const reply = await inbox.nextOf([`${requestTopic}/status`, `${requestTopic}/error`]);
      return { kind: reply.topic.endsWith('/status') ? 'status' : 'error', json: reply.payload.length === 0 ? undefined : JSON.parse(reply.payload.toString('utf8')) };
    },
    received(topicName) {
      return inbox.on(topicName).map((m) => JSON.parse(m.payload.toString('utf8')) as unknown);
    },
  };
  if (options.greet ?? true) {
    const hello = await device.request('epmx', 'update/keys', { model: 'A300' }, 1);
    assert.equal(hello.kind, 'status');
  }
  return device;
}

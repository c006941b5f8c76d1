/**
 * Software versions on two nodes sharing PostgreSQL and NATS (two Tethers in this process): a
 * version added through node A reaches a device asking node B; an offer made on node A is pushed by
 * node B, which holds the device's session; the device's report on node B is seen through node A
 * and heard on node A's bus.
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import { freshDatabase, sharedNats } from '../helpers/engines.js';
import { api, connectDevice, startPlatform } from '../control/harness.js';
import { createEndpoint } from '../platform/helpers.js';
import { waitFor } from '../helpers/wait.js';

const OTA = 'cmx_ota';

test('two nodes: a version added on A is served by B, an offer made on A is pushed by B, a report on B is seen on A', { timeout: 120_000 }, async (t) => {
  const [database, natsUrl] = await Promise.all([freshDatabase(), sharedNats()]);
  t.after(() => database.drop());
  const flags = (i: number) => ['--storage', 'postgres', '--database-url', database.url, '--bus', 'nats', '--nats-url', natsUrl, '--node-id', `sw-node-${i}`];
  const a = await startPlatform(t, flags(1));
  const b = await startPlatform(t, flags(2));
  const reported: TetherEvent[] = [];
  t.after(a.bus.subscribe((e) => void (e.type === 'software.reported' && reported.push(e))));

  const created = await api(a, 'POST', '/otao/api/v1/applications/demo_application/software', { version: '1.1.0', upgradableFrom: [''], specification: { url: 'x' }, rolloutStrategy: 'general' });
  assert.equal(created.status, 201);
  const endpoint = await createEndpoint(a);
  const device = await connectDevice(t, b, { endpoint });
  // The general version goes to the new session B holds, without a request.
  const pushed = await device.inbox.next(device.topic(OTA, 'config/json/status'));
  assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: '1.1.0', config: { url: 'x' } });

  await device.request(OTA, 'applied/json', { configId: '1.1.0' }, 2);
  await waitFor('node A to hear the report', () => reported.length, { until: (n) => n === 1, timeoutMs: 10_000 });
  assert.equal((await api<{ version: string }>(a, 'GET', `/otao/api/v1/endpoints/${endpoint.endpointId}/software`)).body.version, '1.1.0');

  await api(a, 'POST', '/otao/api/v1/applications/demo_application/software', { version: '1.2.0', upgradableFrom: ['1.1.0'], specification: { url: 'y' } });
  await a.software.service.offer('demo_application', '1.2.0', [endpoint.endpointId], 'rollout-1');
  const offered = await waitFor('the offer pushed by node B', () => device.received(device.topic(OTA, 'config/json/status')), { until: (m) => m.length === 2, timeoutMs: 10_000 });
  assert.deepEqual(offered[1], { configId: '1.2.0', config: { url: 'y' } });
});

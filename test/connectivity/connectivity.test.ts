import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import { createConnectivity } from '../../src/connectivity/index.js';
import { silentLogger } from '../../src/core/log.js';
import type { Storage } from '../../src/storage/storage.js';
import { type TestClock, createTestClock } from '../helpers/clock.js';
import { DEMO_APP, DEMO_VERSION, type TestServices, createTestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

type ConnectivityEvent = Extract<TetherEvent, { type: 'connectivity.changed' }>;

describe('connectivity (9/ELCE)', () => {
  let t: TestServices;
  let clock: TestClock;
  let seenWrites: string[];
  let ids: string[];

  beforeEach(async () => {
    clock = createTestClock();
    seenWrites = [];
    const countSeen = (storage: Storage): Storage =>
      new Proxy(storage, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (prop === 'recordSeen') {
            return (endpointId: string, at: string) => {
              seenWrites.push(endpointId);
              return target.recordSeen(endpointId, at);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    t = await createTestServices({ clock, wrapStorage: countSeen });
    ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: `ep${i}` })).endpoint.endpointId);
  });
  afterEach(() => t.close());

  const connectivityEvents = () => t.events.filter((e): e is ConnectivityEvent => e.type === 'connectivity.changed');
  const connected = async (id: string) => (await t.registry.getEndpoint(id, false)).connected;

  test('an endpoint with two sessions stays connected until the last one ends', async () => {
    const [ep] = ids as [string];
    await t.connectivity.attach('s1', ep, DEMO_APP);
    assert.equal(await connected(ep), true);
    const record = await t.registry.getEndpoint(ep, false);
    assert.equal(record.connectivityTs, clock.iso());
    await t.connectivity.attach('s1', ep, DEMO_APP);
    await t.connectivity.attach('s2', ep, DEMO_APP);
    assert.deepEqual(t.connectivity.sessionsOf(ep).sort(), ['s1', 's2']);

    await t.connectivity.detachSession('s1');
    assert.equal(await connected(ep), true);
    clock.advance(5000);
    await t.connectivity.detachSession('s2');
    assert.equal(await connected(ep), false);
    assert.equal((await t.registry.getEndpoint(ep, false)).connectivityTs, clock.iso());
    assert.deepEqual(t.connectivity.sessionsOf(ep), []);
    await t.connectivity.detachSession('s2');

    await waitFor('two connectivity events', () => connectivityEvents().length === 2);
    assert.deepEqual(
      connectivityEvents().map((e) => [e.endpointId, e.applicationName, e.connected]),
      [
        [ep, DEMO_APP, true],
        [ep, DEMO_APP, false],
      ],
    );
  });

  test('session takeover: the new session attaches before the old one detaches', async () => {
    const [ep] = ids as [string];
    await t.connectivity.attach('conn-1', ep, DEMO_APP);
    // Same MQTT client ID reconnects: the transport attaches the new connection, then ends the old.
    await t.connectivity.attach('conn-2', ep, DEMO_APP);
    await t.connectivity.detachSession('conn-1');
    assert.equal(await connected(ep), true);
    assert.deepEqual(t.connectivity.sessionsOf(ep), ['conn-2']);
    await t.connectivity.attach('probe', ids[1] as string, DEMO_APP);
    await waitFor('probe event', () => connectivityEvents().some((e) => e.endpointId === ids[1]));
    assert.deepEqual(
      connectivityEvents().filter((e) => e.endpointId === ep).map((e) => e.connected),
      [true],
      'takeover neither disconnects nor reconnects the endpoint',
    );
  });

  test('a gateway session speaks for several endpoints', async () => {
    const [a, b, c] = ids as [string, string, string];
    for (const ep of ids) await t.connectivity.attach('gateway', ep, DEMO_APP);
    await t.connectivity.attach('direct', b, DEMO_APP);
    for (const ep of ids) assert.equal(await connected(ep), true);
    await t.connectivity.detachSession('gateway');
    assert.deepEqual([await connected(a), await connected(b), await connected(c)], [false, true, false]);
    assert.deepEqual(t.connectivity.sessionsOf(b), ['direct']);
  });

  test('lastSeen is written at most once per second per endpoint', async () => {
    const [a, b] = ids as [string, string];
    t.connectivity.seen(a);
    const firstSeen = clock.iso();
    for (let i = 0; i < 50; i++) t.connectivity.seen(a);
    clock.advance(999);
    t.connectivity.seen(a);
    t.connectivity.seen(b);
    assert.deepEqual(seenWrites, [a, b]);
    await waitFor('lastSeen of a', async () => (await t.registry.getEndpoint(a, false)).lastSeen === firstSeen);
    clock.advance(1);
    t.connectivity.seen(a);
    assert.deepEqual(seenWrites, [a, b, a]);
    await waitFor('second lastSeen of a', async () => (await t.registry.getEndpoint(a, false)).lastSeen === clock.iso());
  });

  test('a deleted endpoint is forgotten by its sessions', async () => {
    const [a, b] = ids as [string, string];
    await t.connectivity.attach('s1', a, DEMO_APP);
    await t.connectivity.attach('s1', b, DEMO_APP);
    await t.registry.deleteEndpoint(a);
    await waitFor('the deleted endpoint to lose its sessions', () => t.connectivity.sessionsOf(a).length === 0);
    await t.connectivity.detachSession('s1');
    assert.equal(await connected(b), false);
    await waitFor('disconnect event', () => connectivityEvents().filter((e) => !e.connected).length >= 1);
    assert.deepEqual(
      connectivityEvents().filter((e) => !e.connected).map((e) => e.endpointId),
      [b],
    );
  });

  test('no session survives a restart', async () => {
    const [a, b] = ids as [string, string];
    await t.connectivity.attach('s1', a, DEMO_APP);
    await t.connectivity.attach('s2', b, DEMO_APP);
    assert.equal(await connected(a), true);
    // A new process on the same database (the old one died without detaching anything).
    const next = createConnectivity({ storage: t.storage, bus: t.bus, clock, logger: silentLogger });
    try {
      await next.ready;
      assert.deepEqual([await connected(a), await connected(b)], [false, false]);
      assert.deepEqual(next.sessionsOf(a), []);
    } finally {
      await next.close();
    }
  });

  test('several nodes: a restarting node resets only the endpoints its own sessions held, and says so', async () => {
    const [a, b, c] = ids as [string, string, string];
    const nodeA = createConnectivity({ storage: t.storage, bus: t.bus, clock, logger: silentLogger, nodeId: 'node-a' });
    const nodeB = createConnectivity({ storage: t.storage, bus: t.bus, clock, logger: silentLogger, nodeId: 'node-b' });
    await Promise.all([nodeA.ready, nodeB.ready]);
    await nodeA.attach('s1', a, DEMO_APP);
    await nodeB.attach('s2', b, DEMO_APP);
    await nodeB.attach('s3', c, DEMO_APP);
    // node-a dies without a word and starts again under the same ID.
    const before = connectivityEvents().length;
    const restarted = createConnectivity({ storage: t.storage, bus: t.bus, clock, logger: silentLogger, nodeId: 'node-a' });
    try {
      await restarted.ready;
      assert.deepEqual([await connected(a), await connected(b), await connected(c)], [false, true, true]);
      await waitFor('condition', () => connectivityEvents().length > before);
      assert.deepEqual(
        connectivityEvents().slice(before).map((e) => [e.endpointId, e.connected]),
        [[a, false]],
      );
    } finally {
      await restarted.close();
      await nodeB.close();
    }
  });

  test('close records the endpoints still connected as disconnected', async () => {
    const [a] = ids as [string];
    const own = createConnectivity({ storage: t.storage, bus: t.bus, clock, logger: silentLogger });
    await own.ready;
    await own.attach('s1', a, DEMO_APP);
    assert.equal(await connected(a), true);
    await own.close();
    assert.equal(await connected(a), false);
  });
});

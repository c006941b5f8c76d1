import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { DEVICE_CACHE_IDLE_MS } from '../../src/core/idle.js';
import type { Clock } from '../../src/core/clock.js';
import type { Storage } from '../../src/storage/storage.js';
import { DEMO_APP, DEMO_VERSION, createTestServices } from '../helpers/services.js';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-01-01T00:00:00.000Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, iso: () => new Date(now).toISOString(), advance: (ms) => (now += ms) };
}

/** The storage, counting the reads a device's request makes when the caches do not answer. */
function countingReads(storage: Storage, reads: { tokens: number; endpoints: number }): Storage {
  return new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'findTokenByHash') return (...args: unknown[]) => (reads.tokens++, (value as (...a: unknown[]) => unknown).apply(target, args));
      if (property === 'getEndpoint') return (...args: unknown[]) => (reads.endpoints++, (value as (...a: unknown[]) => unknown).apply(target, args));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

test('an idle device leaves the token and endpoint caches, and is served from storage when it returns', async () => {
  const clock = manualClock();
  const reads = { tokens: 0, endpoints: 0 };
  const t = await createTestServices({ clock, wrapStorage: (storage) => countingReads(storage, reads) });
  try {
    const busy = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { name: 'busy' } });
    const idle = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { name: 'idle' } });
    // A device's request: its token, then a metadata update.
    const request = async (token: string, endpointId: string, value: number) => {
      const record = await t.credentials.resolveToken(DEMO_APP, token);
      assert.equal(record.endpointId, endpointId);
      await t.registry.changeMetadata(endpointId, { kind: 'merge', metadata: { value } }, 'device');
    };
    await request(busy.token, busy.endpoint.endpointId, 1);
    await request(idle.token, idle.endpoint.endpointId, 1);
    const afterFirst = { ...reads };
    await request(idle.token, idle.endpoint.endpointId, 2);
    assert.deepEqual(reads, afterFirst, 'while active, a request reads nothing but its write');

    // The busy device keeps talking; the idle one says nothing for longer than the idle time.
    for (let minute = 0; minute < DEVICE_CACHE_IDLE_MS / 60_000 + 1; minute++) {
      clock.advance(60_000);
      await request(busy.token, busy.endpoint.endpointId, 10 + minute);
    }
    assert.deepEqual(t.sweepIdleCaches(), { tokens: 1, endpoints: 1 }, 'only the idle device left the caches');
    assert.deepEqual(reads, afterFirst, 'the busy device was served from the caches throughout');

    // It returns: one read each fills the caches again, and the request is served as before.
    await request(idle.token, idle.endpoint.endpointId, 3);
    assert.deepEqual(reads, { tokens: afterFirst.tokens + 1, endpoints: afterFirst.endpoints + 1 });
    assert.deepEqual(await t.registry.getMetadata(idle.endpoint.endpointId, 'operator'), { name: 'idle', value: 3 });
    await request(idle.token, idle.endpoint.endpointId, 4);
    assert.deepEqual(reads, { tokens: afterFirst.tokens + 1, endpoints: afterFirst.endpoints + 1 }, 'cached again');
    assert.deepEqual(t.sweepIdleCaches(), { tokens: 0, endpoints: 0 }, 'nothing idle now');
  } finally {
    await t.close();
  }
});

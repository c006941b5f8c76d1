import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { ChunkCache } from '../../src/storage/packages.js';
import { createTestClock } from '../helpers/clock.js';

test('piece cache: hits share the buffer, overlapping loads share one read; full, it keeps pieces in use and lets idle ones go; forget drops a blob', async () => {
  const clock = createTestClock();
  const cache = new ChunkCache(3000, 10_000, clock.now);
  let loads = 0;
  const load = (fill: number) => () => {
    loads++;
    return Buffer.alloc(1000, fill);
  };
  const a = cache.get(1, 0, 0, load(1)) as Buffer;
  assert.equal(cache.get(1, 0, 0, load(9)), a, 'a hit is the same buffer, not a copy');
  void cache.get(1, 1, 0, load(2));
  void cache.get(1, 2, 0, load(3));
  void cache.get(1, 0, 0, load(9)); // 1:0 is now the most recent
  // Full, and everything in it was used just now: a new piece is served but not kept.
  assert.equal((cache.get(2, 0, 0, load(4)) as Buffer)[0], 4);
  void cache.get(2, 0, 0, load(4));
  assert.equal(loads, 5, 'read twice: a full cache of pieces in use keeps them');
  clock.advance(10_000);
  void cache.get(1, 0, 0, load(9));
  void cache.get(2, 0, 0, load(4)); // 1:1, the least recently used and idle for 10 s, makes room
  assert.equal(loads, 6);
  assert.equal((cache.get(1, 1, 0, load(2)) as Buffer)[0], 2);
  assert.equal(loads, 7, '1:1 was read again');

  let resolveSlow: (b: Buffer) => void = () => undefined;
  const slow = () => {
    loads++;
    return new Promise<Buffer>((resolve) => (resolveSlow = resolve));
  };
  const first = cache.get(3, 0, 0, slow);
  const second = cache.get(3, 0, 0, slow);
  assert.equal(first, second, 'a load in flight is shared');
  resolveSlow(Buffer.alloc(10, 7));
  assert.equal(((await first) as Buffer)[0], 7);
  assert.equal(loads, 8);

  cache.forget(1);
  clock.advance(10_000);
  void cache.get(1, 0, 0, load(5));
  assert.equal(loads, 9, 'a forgotten blob is read again');
  assert.equal(cache.get(4, 0, 0, () => Buffer.alloc(5000)) instanceof Buffer, true, 'a chunk larger than the bound is served, not kept');
});

import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { ChunkCache } from '../../src/storage/packages.js';

test('chunk cache: hits share the buffer, overlapping loads share one read, the least recently used goes past the byte bound, forget drops a blob', async () => {
  const cache = new ChunkCache(3000);
  let loads = 0;
  const load = (fill: number) => () => {
    loads++;
    return Buffer.alloc(1000, fill);
  };
  const a = cache.get(1, 0, load(1)) as Buffer;
  assert.equal(cache.get(1, 0, load(9)), a, 'a hit is the same buffer, not a copy');
  void cache.get(1, 1, load(2));
  void cache.get(1, 2, load(3));
  void cache.get(1, 0, load(9)); // 1:0 is now the most recent
  void cache.get(2, 0, load(4)); // over 3000 bytes: 1:1, the least recent, goes
  assert.equal(loads, 4);
  assert.equal((cache.get(1, 1, load(2)) as Buffer)[0], 2);
  assert.equal(loads, 5, '1:1 was read again');

  let resolveSlow: (b: Buffer) => void = () => undefined;
  const slow = () => {
    loads++;
    return new Promise<Buffer>((resolve) => (resolveSlow = resolve));
  };
  const first = cache.get(3, 0, slow);
  const second = cache.get(3, 0, slow);
  assert.equal(first, second, 'a load in flight is shared');
  resolveSlow(Buffer.alloc(10, 7));
  assert.equal(((await first) as Buffer)[0], 7);
  assert.equal(loads, 6);

  cache.forget(1);
  void cache.get(1, 0, load(5));
  assert.equal(loads, 7, 'a forgotten blob is read again');
  assert.equal(cache.get(4, 0, () => Buffer.alloc(5000)) instanceof Buffer, true, 'a chunk larger than the bound is served, not kept');
});

import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { SmallMap } from '../../src/core/small-map.js';

test('SmallMap behaves as a Map under random sets and deletes: same entries, same order, same answers', () => {
  let seed = 20261207;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 200; round++) {
    const small = new SmallMap<string, number>();
    const map = new Map<string, number>();
    for (let step = 0; step < 30; step++) {
      const key = `k${random(5)}`;
      if (random(3) === 0) assert.equal(small.delete(key), map.delete(key), `delete ${key}`);
      else {
        small.set(key, step);
        map.set(key, step);
      }
      assert.deepEqual([...small.entries()], [...map.entries()], `round ${round} step ${step}`);
      assert.equal(small.size, map.size);
      for (let k = 0; k < 5; k++) {
        assert.equal(small.has(`k${k}`), map.has(`k${k}`));
        assert.equal(small.get(`k${k}`), map.get(`k${k}`));
      }
    }
  }
});

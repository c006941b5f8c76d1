import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { KeyedLogThrottle } from '../../src/core/log-throttle.js';
import { createTestClock } from '../helpers/clock.js';

test('a keyed log throttle lets a few lines per key and interval through and reports what it held back', () => {
  const clock = createTestClock();
  const throttle = new KeyedLogThrottle(clock, 10_000, 3, 2);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => throttle.pass('A')), [0, 0, 0, undefined, undefined]);
  // Another key has its own budget.
  assert.equal(throttle.pass('B'), 0);
  clock.advance(9_999);
  assert.equal(throttle.pass('A'), undefined);
  clock.advance(1);
  assert.equal(throttle.pass('A'), 3, 'the first line of the next interval says how many were held back');
  assert.equal(throttle.pass('A'), 0);
  // Keys past maxKeys share one budget: made-up keys cannot grow the map.
  assert.deepEqual(['C', 'D', 'E', 'F'].map((key) => throttle.pass(key)), [0, 0, 0, undefined]);
});

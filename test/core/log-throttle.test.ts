import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { KeyedLogThrottle, LogThrottle } from '../../src/core/log-throttle.js';
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

test('a log throttle lets at most linesPerInterval lines through in any interval, the refusal log\'s server-wide budget', () => {
  const clock = createTestClock();
  const throttle = new LogThrottle(clock, 10_000, 2);
  assert.equal(throttle.pass(), 0);
  clock.advance(6_000);
  assert.deepEqual([throttle.pass(), throttle.pass()], [0, undefined]);
  // 10 s after the first line one more may pass; the second line's interval is not over yet.
  clock.advance(4_000);
  assert.deepEqual([throttle.pass(), throttle.pass()], [1, undefined]);
  clock.advance(6_000);
  assert.equal(throttle.pass(), 1);
  // The default is one line per interval.
  const single = new LogThrottle(clock);
  assert.deepEqual([single.pass(), single.pass()], [0, undefined]);
});

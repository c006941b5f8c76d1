import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { parseRange } from '../../src/api/range.js';

test('Range: one range honoured, clamped to the file; past the end unsatisfiable; anything else the whole file', () => {
  assert.deepEqual(parseRange(undefined, 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-1000', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'partial', start: 0, end: 99 });
  assert.deepEqual(parseRange('BYTES = 5 - 5', 100), { kind: 'partial', start: 5, end: 5 });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=100-200', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  // Ignored: several ranges, a reversed range, another unit, nonsense.
  assert.deepEqual(parseRange('bytes=0-1,5-6', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=9-3', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('items=0-1', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=-', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=99999999999999999999-', 100), { kind: 'whole' });
});

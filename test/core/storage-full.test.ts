import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import { errors, isStorageFull, toTetherError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/log.js';
import { StorageFull } from '../../src/core/storage-full.js';
import { createTestClock } from '../helpers/clock.js';
import { waitFor } from '../helpers/wait.js';

function recordingLogger(lines: string[]): Logger {
  const log = (_obj: object, msg?: string) => void lines.push(msg ?? '');
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

test('SQLITE_FULL, ENOSPC and PostgreSQL disk_full become STORAGE_FULL (507), anything else INTERNAL', () => {
  for (const code of ['SQLITE_FULL', 'ENOSPC', '53100']) {
    const err = toTetherError(Object.assign(new Error('no room'), { code }));
    assert.equal(err.code, 'STORAGE_FULL', code);
    assert.equal(err.status, 507, code);
    assert.ok(isStorageFull(err));
  }
  assert.equal(toTetherError(Object.assign(new Error('x'), { code: 'SQLITE_IOERR' })).code, 'INTERNAL');
  assert.ok(isStorageFull(errors.storageFull()));
  assert.ok(!isStorageFull(errors.internal()));
});

test('a full disk logs one line per interval however many writes are refused, and one when it is over', () => {
  const clock = createTestClock();
  const lines: string[] = [];
  const full = new StorageFull({ logger: recordingLogger(lines), clock, where: '/data' });
  assert.equal(full.full, false);
  for (let i = 0; i < 1000; i++) full.refused();
  assert.equal(full.full, true);
  assert.equal(lines.length, 1);
  clock.advance(10_000);
  for (let i = 0; i < 1000; i++) full.refused();
  assert.equal(lines.length, 2);
  full.stored();
  assert.equal(full.full, false);
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /space again/);
  full.stored();
  assert.equal(lines.length, 3, 'nothing to say while there is room');
});

test('while full, the probe write notices space returning without any other write', async (t) => {
  const lines: string[] = [];
  let room = false;
  const full = new StorageFull({
    logger: recordingLogger(lines),
    clock: createTestClock(),
    where: '/data',
    probeMs: 5,
    probe: async () => {
      if (!room) throw errors.storageFull();
    },
  });
  t.after(() => full.close());
  full.refused();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(full.full, true, 'still full while the probe fails');
  room = true;
  await waitFor('the probe to clear the full state', () => !full.full);
});

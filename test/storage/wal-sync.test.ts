import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { WalSync } from '../../src/storage/sqlite/wal-sync.js';
import { waitFor } from '../helpers/wait.js';

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-wal-'));
  const file = path.join(dir, 'tether.db-wal');
  fs.writeFileSync(file, 'frames');
  return { dir, file };
}

test('WAL sync: answers leave after a sync, in order; one commit at most waits behind a running sync; close waits for it', async () => {
  const { dir, file } = tempFile();
  try {
    const delivered: Array<{ answers: number[]; err: unknown }> = [];
    const wal = new WalSync<number>(file, (answers, err) => delivered.push({ answers, err }));
    let rooms = 0;
    wal.onRoom(() => rooms++);

    wal.afterSync([1, 2]);
    assert.equal(wal.full, false, 'the first commit is being synced, nothing waits yet');
    assert.deepEqual(delivered, [], 'nothing is answered before its sync returns');
    wal.afterSync([3]);
    assert.equal(wal.full, true, 'a commit waits for the next sync: further batches are held back');

    await waitFor('both syncs', () => delivered.length, { until: (n) => n === 2, timeoutMs: 10_000 });
    assert.deepEqual(delivered, [
      { answers: [1, 2], err: null },
      { answers: [3], err: null },
    ]);
    assert.ok(rooms >= 1, 'told when there is room again');
    assert.equal(wal.full, false);

    wal.afterSync([4]);
    let closed = false;
    wal.close(() => (closed = true));
    assert.equal(closed, false, 'close waits for the sync in flight');
    await waitFor('close', () => closed, { until: (c) => c, timeoutMs: 10_000 });
    assert.deepEqual(delivered.at(-1), { answers: [4], err: null }, 'its answers went out before closing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL sync: when the WAL cannot be synced, its answers are delivered with the error (not acknowledged as durable)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-wal-'));
  try {
    const delivered: Array<{ answers: string[]; err: unknown }> = [];
    const wal = new WalSync<string>(path.join(dir, 'missing-wal'), (answers, err) => delivered.push({ answers, err }));
    wal.afterSync(['a']);
    await waitFor('delivery', () => delivered.length, { until: (n) => n === 1, timeoutMs: 10_000 });
    assert.deepEqual(delivered[0]!.answers, ['a']);
    assert.equal((delivered[0]!.err as { code?: string }).code, 'ENOENT');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from '../helpers/test.js';
import { backupDataDir, restoreDataDir } from '../../src/ops/backup.js';
import { openSqliteRolloutStorage } from '../../src/storage/sqlite/rollouts.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('rollouts.db in backups', () => {
  it('a backup of the data directory carries the rollouts and their devices', async (t) => {
    const work = tempDir(t, 'tether-rollouts-backup-');
    const dataDir = path.join(work, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    // A data directory is one with a register in it.
    await (await openSqliteStorage({ file: path.join(dataDir, 'tether.db') })).close();
    const store = await openSqliteRolloutStorage({ file: path.join(dataDir, 'rollouts.db') });
    const at = '2026-01-01T00:00:00.000Z';
    await store.insertRollout(
      { rolloutId: 'r1', applicationName: 'app', version: '1.2.0', target: { endpointIds: ['a', 'b'] }, rate: null, abort: null, state: 'running', reason: null, createdAt: at, updatedAt: at },
      [{ endpointId: 'a', state: 'pending', reason: null }, { endpointId: 'b', state: 'skipped', reason: 'already runs 1.2.0' }],
    );
    const file = path.join(work, 'tether.backup');
    const backup = await backupDataDir(dataDir, file);
    await store.close();
    assert.ok(backup.files.includes('rollouts.db'), `backed up: ${backup.files.join(', ')}`);

    const restoredDir = path.join(work, 'restored');
    await restoreDataDir(file, restoredDir);
    const restored = await openSqliteRolloutStorage({ file: path.join(restoredDir, 'rollouts.db') });
    t.after(() => restored.close());
    assert.equal((await restored.getRollout('r1'))?.version, '1.2.0');
    assert.deepEqual((await restored.counts('r1')).skipped, 1);
  });
});

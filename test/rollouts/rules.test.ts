import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, it } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import { emptyCounts } from '../../src/core/rollouts.js';
import { abortReason, accrue, completedReason, currentRate } from '../../src/rollouts/rules.js';
import { openSqliteRolloutStorage } from '../../src/storage/sqlite/rollouts.js';

const counts = (over: Partial<ReturnType<typeof emptyCounts>>) => ({ ...emptyCounts(), ...over });

describe('rollout rules', () => {
  it('the abort rule: more than the limit, once enough devices finished; timed out counts as failed', () => {
    const rule = { failurePercent: 10, minAttempted: 100 };
    assert.equal(abortReason(rule, counts({ applied: 50, failed: 40 })), undefined, 'only 90 finished');
    assert.equal(abortReason(rule, counts({ applied: 90, failed: 10 })), undefined, '10 % is not more than 10 %');
    assert.equal(abortReason(rule, counts({ applied: 69, failed: 31 })), 'aborted: 31 of 100 devices failed (31 %), above the 10 % limit');
    assert.equal(abortReason(rule, counts({ applied: 90, failed: 8, timed_out: 4, pending: 500 })), 'aborted: 12 of 102 devices failed (4 of them timed out) (11.8 %), above the 10 % limit');
    assert.equal(abortReason(null, counts({ failed: 1000 })), undefined);
    assert.equal(abortReason({ failurePercent: 0, minAttempted: 1 }, counts({ failed: 1 })), 'aborted: 1 of 1 devices failed (100 %), above the 0 % limit');
  });

  it('the rate: growth by steps of successes; credit accrues per millisecond, at most a minute of it', () => {
    assert.equal(currentRate({ perMinute: 60 }, 1000), 60);
    assert.equal(currentRate({ perMinute: 60, growth: { factor: 2, everySuccesses: 10 } }, 9), 60);
    assert.equal(currentRate({ perMinute: 60, growth: { factor: 2, everySuccesses: 10 } }, 25), 240);
    assert.equal(currentRate({ perMinute: 60, growth: { factor: 1.5, everySuccesses: 100 } }, 100), 90);
    assert.equal(currentRate({ perMinute: 60, growth: { factor: 10, everySuccesses: 1 } }, 100), 1e9);
    assert.equal(accrue(0, 600, 1000), 10);
    assert.equal(accrue(0.5, 60, 500), 1);
    assert.equal(accrue(0, 600, 3_600_000), 600);
    assert.equal(accrue(0, 0.5, 3_600_000), 1, 'a slow rate still offers whole devices');
    assert.equal(accrue(2, 600, -5000), 2, 'a clock going back earns nothing');
  });

  it('completion says what became of the devices', () => {
    assert.equal(completedReason(counts({ applied: 9990, failed: 10 })), 'completed: 9990 applied, 10 failed');
    assert.equal(completedReason(counts({ applied: 1, timed_out: 2, skipped: 3 })), 'completed: 1 applied, 0 failed, 2 timed out, 3 skipped');
  });

  it('rollouts.db written by a newer Tether is refused with SCHEMA_TOO_NEW', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-rollouts-schema-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'rollouts.db');
    await (await openSqliteRolloutStorage({ file })).close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    await assert.rejects(openSqliteRolloutStorage({ file }), (err) => isTetherError(err) && err.code === 'SCHEMA_TOO_NEW' && /rollouts\.db schema version 99/.test(err.message));
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { CommandRecord } from '../../src/core/control.js';
import { openSqliteControlStorage } from '../../src/storage/sqlite/control.js';

const AT = '2026-12-06T10:00:00.000Z';

function pending(endpointId: string): Omit<CommandRecord, 'id'> {
  return {
    endpointId,
    applicationName: 'demo_application',
    commandType: 'reboot',
    status: 'PENDING',
    requestPayload: { delay: 1 },
    responsePayload: null,
    statusCode: null,
    reasonPhrase: null,
    createdAt: AT,
    updatedAt: AT,
    expiresAt: '2099-01-01T00:00:00.000Z',
    lastDispatchedAt: null,
    taskId: null,
  };
}

describe('control.db (SQLite)', () => {
  it('shows when a command was pushed at once, and keeps it across a close without a commit of its own', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-control-store-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'control.db');
    const store = await openSqliteControlStorage({ file });
    const [a, b] = await store.insertCommands([pending('ep-1'), pending('ep-2')]);
    const sentAt = '2026-12-06T10:00:01.000Z';
    await store.markDispatched([a!.id], sentAt);
    assert.equal((await store.getCommand(a!.id))?.lastDispatchedAt, sentAt);
    assert.equal((await store.getCommand(b!.id))?.lastDispatchedAt, null);
    assert.equal((await store.lastCommand('ep-1', 'reboot'))?.lastDispatchedAt, sentAt);
    assert.equal((await store.outstandingCommands('ep-1', AT))[0]?.lastDispatchedAt, sentAt);
    assert.equal((await store.queryCommands({ endpointIds: ['ep-1'], offset: 0, limit: 10 })).content[0]?.lastDispatchedAt, sentAt);
    // A result committed meanwhile carries the dispatch time with it.
    const outcome = await store.completeCommands('ep-1', 'reboot', [{ id: a!.id, statusCode: 200 }], '2026-12-06T10:00:02.000Z');
    assert.equal(outcome.executed[0]?.lastDispatchedAt, sentAt);
    await store.markDispatched([b!.id], sentAt);
    await store.close();

    const reopened = await openSqliteControlStorage({ file });
    t.after(() => reopened.close());
    assert.equal((await reopened.getCommand(a!.id))?.lastDispatchedAt, sentAt);
    assert.equal((await reopened.getCommand(b!.id))?.lastDispatchedAt, sentAt);
  });
});

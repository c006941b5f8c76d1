import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import Database from 'better-sqlite3';
import { openSqliteClientCredentialStore } from '../../src/storage/sqlite/client-credentials.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { basic } from './store-conformance.js';

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  return { dir, file: path.join(dir, 'tether.db') };
}

// The conformance suite runs on every backend from store-conformance.test.ts (test/storage/backends.ts).

test('sqlite: the credential table shares the main storage file without disturbing it', async () => {
  const { dir, file } = tempFile();
  try {
    const storage = await openSqliteStorage({ file });
    const store = await openSqliteClientCredentialStore({ file });
    try {
      await store.insert(basic('c1', 'alice'));
      await storage.putSetting('k', { v: 1 });
      assert.deepEqual(await storage.getSetting('k'), { v: 1 });
      assert.equal((await store.get('c1'))?.username, 'alice');
    } finally {
      await store.close();
      await storage.close();
    }
    // Opening the main storage again (its migrations) keeps the table and its rows.
    const again = await openSqliteStorage({ file });
    await again.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal((db.prepare('SELECT count(*) AS n FROM client_credentials').get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

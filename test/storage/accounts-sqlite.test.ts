import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteAccountStorage } from '../../src/storage/sqlite/accounts.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { MIGRATIONS } from '../../src/storage/sqlite/schema.js';
import { accountStorageConformance } from './accounts-conformance.js';

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  return { dir, file: path.join(dir, 'tether.db') };
}

accountStorageConformance('sqlite', async () => {
  const { dir, file } = tempFile();
  const store = await openSqliteAccountStorage({ file });
  return {
    store,
    reopen: () => openSqliteAccountStorage({ file }),
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('sqlite: migration 5 turns the single dashboard account of older versions into the admin user, same hash', async () => {
  const { dir, file } = tempFile();
  try {
    // A file as Tether left it before accounts: schema version 4 with the dashboard.admin setting.
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    for (const [i, migration] of MIGRATIONS.slice(0, 4).entries()) {
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${i + 1}`);
    }
    const old = { username: 'admin', algorithm: 'scrypt', N: 16384, r: 8, p: 1, salt: 'c2FsdA==', hash: 'aGFzaA==', createdDate: '2025-05-05T00:00:00.000Z' };
    db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('dashboard.admin', JSON.stringify(old));
    db.close();

    const storage = await openSqliteStorage({ file });
    await storage.close();
    const store = await openSqliteAccountStorage({ file });
    try {
      const admin = await store.getUser('admin');
      assert.equal(admin?.role, 'admin');
      assert.equal(admin?.createdDate, old.createdDate);
      assert.deepEqual(JSON.parse(admin!.passwordHash), { algorithm: 'scrypt', N: 16384, r: 8, p: 1, salt: 'c2FsdA==', hash: 'aGFzaA==' });
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

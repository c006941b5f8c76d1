import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import Database from 'better-sqlite3';
import { openSqliteAccountStorage } from '../../src/storage/sqlite/accounts.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { MIGRATIONS } from '../../src/storage/sqlite/schema.js';

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  return { dir, file: path.join(dir, 'tether.db') };
}

// The conformance suite runs on SQLite (and PostgreSQL) from accounts-conformance.test.ts; these are SQLite's own cases.

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

test('sqlite: migration 7 moves the unexpired sessions of the settings document into their table', async () => {
  const { dir, file } = tempFile();
  try {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    for (const [i, migration] of MIGRATIONS.slice(0, 6).entries()) {
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${i + 1}`);
    }
    const now = Date.now();
    const doc = {
      live: { username: 'alice', expires: now + 3_600_000, created: now - 1000 },
      // Saved before `created` existed: it began one TTL (12 h) before it expires.
      older: { username: 'bob', expires: now + 7_200_000 },
      expired: { username: 'carol', expires: now - 1000, created: now - 50_000_000 },
      broken: 'not a session',
    };
    db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('dashboard.sessions', JSON.stringify(doc));
    db.close();

    const store = await openSqliteAccountStorage({ file });
    try {
      assert.deepEqual(await store.getSession('live'), {
        digest: 'live', username: 'alice', createdDate: new Date(now - 1000).toISOString(), expiresDate: new Date(now + 3_600_000).toISOString(),
      });
      assert.deepEqual(await store.getSession('older'), {
        digest: 'older', username: 'bob', createdDate: new Date(now + 7_200_000 - 43_200_000).toISOString(), expiresDate: new Date(now + 7_200_000).toISOString(),
      });
      assert.equal(await store.getSession('expired'), undefined);
      assert.equal(await store.getSession('broken'), undefined);
    } finally {
      await store.close();
    }
    const after = new Database(file, { readonly: true });
    try {
      assert.equal((after.prepare("SELECT count(*) AS n FROM settings WHERE key = 'dashboard.sessions'").get() as { n: number }).n, 0, 'the document is gone');
    } finally {
      after.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

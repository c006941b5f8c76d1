import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { isTetherError } from '../../src/core/errors.js';
import type { EndpointQuery } from '../../src/core/types.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/sqlite/schema.js';
import { T0, appVersion, application, endpoint, seedApplication } from './fixtures.js';

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  return { dir, file: path.join(dir, 'tether.db') };
}

// The conformance suite runs on every backend from conformance.test.ts (backends.ts).

test('sqlite: the file is in WAL mode with foreign keys and the current schema version', async () => {
  const { dir, file } = tempFile();
  try {
    const storage = await openSqliteStorage({ file });
    await storage.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: opening twice on the same file migrates once and keeps data', async () => {
  const { dir, file } = tempFile();
  try {
    const first = await openSqliteStorage({ file });
    await first.insertApplication(application('a'));
    await first.insertAppVersion(appVersion('a', 'a_v1'));
    await first.insertEndpoint(endpoint('e1', 'a_v1', 'a'), { k: 'v' });
    await first.close();
    const second = await openSqliteStorage({ file });
    try {
      await second.init();
      assert.deepEqual(await second.getMetadata('e1'), { k: 'v' });
      assert.deepEqual(await second.metadataKeysOfApplication('a'), ['k']);
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a file from a newer Tether is refused instead of damaged', async () => {
  const { dir, file } = tempFile();
  try {
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(openSqliteStorage({ file }), /newer than this Tether/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: foreign keys are enforced (an endpoint needs its version)', async () => {
  const { dir, file } = tempFile();
  const storage = await openSqliteStorage({ file });
  try {
    await assert.rejects(storage.insertEndpoint(endpoint('e1', 'no_version', 'no_app'), {}), /FOREIGN KEY/);
  } finally {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a schema 1 file migrates, and its endpoints are found by search, contains and counts', async () => {
  const { dir, file } = tempFile();
  try {
    // A file as the first schema left it, written without the current code.
    const db = new Database(file);
    db.exec(MIGRATIONS[0] as string);
    db.pragma('user_version = 1');
    db.exec(`
      INSERT INTO applications VALUES ('a', '', '${T0}');
      INSERT INTO app_versions VALUES ('a_v1', 'a', '${T0}', '[]', '{}');
      INSERT INTO endpoints (seq, endpoint_id, application_name, app_version_name, created_date, connected, metadata, search_text)
        VALUES (1, 'Old-Device', 'a', 'a_v1', '${T0}', 1, '{"room":"Kitchen"}', 'old-device' || char(31) || 'kitchen'),
               (2, 'other', 'a', 'a_v1', '${T0}', 0, '{"room":"Garage"}', 'other' || char(31) || 'garage');
      INSERT INTO endpoint_metadata VALUES (1, 'room', 'a', '"Kitchen"', 'Kitchen', 'kitchen'), (2, 'room', 'a', '"Garage"', 'Garage', 'garage');
    `);
    db.close();
    const storage = await openSqliteStorage({ file });
    try {
      const found = async (extra: Partial<EndpointQuery>) =>
        (await storage.queryEndpoints({ offset: 0, limit: 10, includeMetadata: false, ...extra })).content.map((e) => e.endpointId);
      assert.deepEqual(await found({ search: 'KITCH' }), ['Old-Device']);
      assert.deepEqual(await found({ search: 'old-dev', searchKeys: ['nothing'] }), ['Old-Device']);
      assert.deepEqual(await found({ metadataFilters: [{ key: 'room', op: 'contains', value: 'ARAG' }] }), ['other']);
      assert.equal((await storage.queryEndpoints({ applicationName: 'a', connected: true, offset: 0, limit: 0, includeMetadata: false })).totalElements, 1);
      assert.equal((await storage.queryEndpoints({ applicationName: 'a', offset: 0, limit: 0, includeMetadata: false })).totalElements, 2);
      // Migrated rows stay in step with later changes.
      await storage.changeMetadata('Old-Device', { kind: 'merge', metadata: { room: 'Office' } }, T0);
      assert.deepEqual(await found({ search: 'kitchen' }), []);
      assert.deepEqual(await found({ search: 'offic', searchKeys: ['room'] }), ['Old-Device']);
      await storage.deleteEndpoint('other');
      assert.deepEqual(await found({ search: 'garage' }), []);
      assert.equal((await storage.queryEndpoints({ applicationName: 'a', offset: 0, limit: 0, includeMetadata: false })).totalElements, 1);
    } finally {
      await storage.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a schema 3 file gains last connect/disconnect columns, backfilled from connectivity_ts by the connected flag', async () => {
  const { dir, file } = tempFile();
  try {
    const db = new Database(file);
    for (const migration of MIGRATIONS.slice(0, 3)) {
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
    }
    db.pragma('user_version = 3');
    db.exec(`
      INSERT INTO applications VALUES ('a', '', '${T0}');
      INSERT INTO app_versions VALUES ('a_v1', 'a', '${T0}', '[]', '{}');
      INSERT INTO endpoints (endpoint_id, application_name, app_version_name, created_date, connected, connectivity_ts, metadata, search_text)
        VALUES ('on', 'a', 'a_v1', '${T0}', 1, '2024-01-01T00:00:01.000Z', '{}', 'on'),
               ('off', 'a', 'a_v1', '${T0}', 0, '2024-01-01T00:00:02.000Z', '{}', 'off'),
               ('never', 'a', 'a_v1', '${T0}', 0, NULL, '{}', 'never');
    `);
    db.close();
    const storage = await openSqliteStorage({ file });
    try {
      const edges = async (id: string) => {
        const e = await storage.getEndpoint(id, false);
        return [e?.lastConnectedDate, e?.lastDisconnectedDate];
      };
      assert.deepEqual(await edges('on'), ['2024-01-01T00:00:01.000Z', null]);
      assert.deepEqual(await edges('off'), [null, '2024-01-01T00:00:02.000Z']);
      assert.deepEqual(await edges('never'), [null, null]);
    } finally {
      await storage.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: when the writer thread dies, pending and later writes reject UNAVAILABLE, it is reported once, reads go on', async () => {
  const { dir, file } = tempFile();
  const failures: unknown[] = [];
  const storage = await openSqliteStorage({ file, onWriterFailure: (err) => failures.push(err) });
  try {
    const { app, version } = await seedApplication(storage);
    await storage.insertEndpoint(endpoint('e1', version, app), { k: 'v' });
    // No public way to crash the thread: reach its Worker and terminate it, as a fatal error would.
    const worker = (storage as unknown as { writer: { worker: Worker } }).writer.worker;
    const pending = [storage.changeMetadata('e1', { kind: 'merge', metadata: { k: 'lost?' } }, T0), storage.recordSeen('e1', T0)];
    await worker.terminate();
    const unavailable = (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE';
    for (const write of pending) await assert.rejects(write, unavailable);
    await assert.rejects(storage.putSetting('s', 1), unavailable);
    await assert.rejects(storage.recordSeen('e1', T0), unavailable);
    assert.equal(failures.length, 1);
    // The committed state is still readable.
    assert.equal((await storage.getEndpoint('e1', false))?.endpointId, 'e1');
  } finally {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: search sees a value at once while its index row waits in the queue, and the queue is applied within the lag', async () => {
  const { dir, file } = tempFile();
  try {
    const storage = await openSqliteStorage({ file });
    try {
      const { app, version } = await seedApplication(storage);
      await storage.insertEndpoint(endpoint('meter-1', version, app), { room: 'Kitchen' });
      await storage.insertEndpoint(endpoint('meter-2', version, app), { room: 'Garage' });
      const found = async (extra: Partial<EndpointQuery>) =>
        (await storage.queryEndpoints({ offset: 0, limit: 10, includeMetadata: false, ...extra })).content.map((e) => e.endpointId).sort();
      const queued = () => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT count(*) FROM endpoint_search_pending').pluck().get() as number;
        } finally {
          db.close();
        }
      };
      const applied = async () => {
        const deadline = Date.now() + 10_000;
        while (queued() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(queued(), 0, 'the writer applies the queue without another commit coming along');
      };
      await applied();
      assert.deepEqual(await found({ search: 'kitchen' }), ['meter-1']);
      // The same key changed in two commits, with lastSeen in the same batch as one of them.
      await storage.changeMetadata('meter-1', { kind: 'merge', metadata: { room: 'Office' } }, T0);
      await Promise.all([storage.changeMetadata('meter-1', { kind: 'merge', metadata: { room: 'Boiler room' } }, T0), storage.recordSeen('meter-1', '2026-01-01T00:00:05.000Z')]);
      assert.ok(queued() > 0, 'the index rows wait in the queue');
      assert.deepEqual(await found({ search: 'boiler' }), ['meter-1']);
      assert.deepEqual(await found({ search: 'kitchen' }), [], 'a queued row hides its stale index row');
      assert.deepEqual(await found({ search: 'offic' }), []);
      assert.deepEqual(await found({ metadataFilters: [{ key: 'room', op: 'contains', value: 'ROOM' }] }), ['meter-1']);
      assert.deepEqual(await found({ search: 'garag', searchKeys: ['room'] }), ['meter-2'], 'rows applied before are found in the index');
      assert.equal((await storage.getEndpoint('meter-1', false))?.lastSeen, '2026-01-01T00:00:05.000Z');

      await applied();
      assert.deepEqual(await found({ search: 'boiler' }), ['meter-1']);
      assert.deepEqual(await found({ search: 'kitchen' }), []);
      assert.deepEqual(await found({ search: 'garag' }), ['meter-2']);
    } finally {
      await storage.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

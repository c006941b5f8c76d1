/**
 * What the package conformance suite cannot say for every backend at once: SQLite's file (its page
 * size, its schema version, uploads a crash cut short) and several nodes on one PostgreSQL database.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { PackageUpload } from '../../src/storage/packages.js';
import { openPostgresPackageStorage } from '../../src/storage/postgres/packages.js';
import { openSqlitePackageStorage } from '../../src/storage/sqlite/packages.js';
import { freshDatabase } from '../helpers/engines.js';

const upload = (over: Partial<PackageUpload> = {}): PackageUpload => ({
  applicationName: 'app', version: '1.0.0', fileName: 'fw.bin', contentType: 'application/octet-stream', uploadedAt: '2026-01-01T00:00:00.000Z', maxBytes: 10_000_000, ...over,
});

async function* body(size: number, fill = 7): AsyncGenerator<Buffer> {
  for (let left = size; left > 0; left -= 4096) yield Buffer.alloc(Math.min(4096, left), fill);
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('packages.db (SQLite)', () => {
  const place = (t: { after(fn: () => void): void }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-packages-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'packages.db');
  };

  test('is made with 64 KiB pages; an upload a crash cut short is gone at the next open; a newer schema is refused', async (t) => {
    const file = place(t);
    const store = await openSqlitePackageStorage({ file, chunkSize: 1000 });
    await store.put(upload(), body(5000));
    await store.close();

    const db = new Database(file);
    assert.equal(db.pragma('page_size', { simple: true }), 65536);
    // A blob with chunks that no package points at: what a crash in the middle of an upload leaves.
    db.prepare("INSERT INTO package_blobs (blob_id, started_at) VALUES (99, '2026-01-01T00:00:00.000Z')").run();
    db.prepare('INSERT INTO package_chunks (blob_id, seq, data) VALUES (99, 0, ?)').run(Buffer.alloc(1000));
    db.close();

    const again = await openSqlitePackageStorage({ file, chunkSize: 1000 });
    const stored = await again.get({ applicationName: 'app', version: '1.0.0' });
    assert.equal(stored?.size, 5000);
    assert.equal((await collect(again.read(stored!, 0, 4999))).length, 5000);
    await again.close();
    const check = new Database(file);
    assert.equal((check.prepare('SELECT count(*) AS n FROM package_blobs').get() as { n: number }).n, 1);
    assert.equal((check.prepare('SELECT count(*) AS n FROM package_chunks WHERE blob_id = 99').get() as { n: number }).n, 0);
    check.pragma('user_version = 99');
    check.close();

    await assert.rejects(openSqlitePackageStorage({ file }), (err: unknown) => isTetherError(err) && err.code === 'SCHEMA_TOO_NEW' && /packages\.db/.test(err.message));
  });
});

describe('package tables (PostgreSQL, several nodes)', () => {
  test('uploaded through one node, read through another; two nodes replacing one version at once leave one package and no stray blob', async (t) => {
    const database = await freshDatabase();
    t.after(() => database.drop());
    const nodes = await Promise.all([1, 2].map(() => openPostgresPackageStorage({ url: database.url, chunkSize: 1000, maxConnections: 2 })));
    t.after(() => Promise.all(nodes.map((n) => n.close())));
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

    // Two nodes storing the first package of a version at once: one stays, the other's blob goes.
    await Promise.all([a.put(upload({ version: '0.9.0' }), body(1500, 4)), b.put(upload({ version: '0.9.0' }), body(2500, 5))]);
    assert.ok([1500, 2500].includes((await a.get({ applicationName: 'app', version: '0.9.0' }))!.size));
    assert.equal(await b.delete({ applicationName: 'app', version: '0.9.0' }), true);

    await a.put(upload(), body(3500, 1));
    const seen = await b.get({ applicationName: 'app', version: '1.0.0' });
    assert.ok((await collect(b.read(seen!, 0, 3499))).equals(Buffer.alloc(3500, 1)));

    const results = await Promise.all([a.put(upload({ fileName: 'a.bin' }), body(4000, 2)), b.put(upload({ fileName: 'b.bin' }), body(6000, 3))]);
    const now = (await a.get({ applicationName: 'app', version: '1.0.0' }))!;
    assert.ok(results.some((r) => r.blobId === now.blobId));
    const expected = now.fileName === 'a.bin' ? Buffer.alloc(4000, 2) : Buffer.alloc(6000, 3);
    assert.ok((await collect(a.read(now, 0, now.size - 1))).equals(expected));

    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: database.url });
    client.on('error', () => undefined);
    await client.connect();
    const blobs = await client.query<{ n: string }>('SELECT count(*) AS n FROM package_blobs');
    assert.equal(Number(blobs.rows[0]!.n), 1);

    // An upload abandoned long ago (its node died) is cleared by the next node that starts; a recent one is left alone.
    await client.query("INSERT INTO package_blobs (started_at) VALUES ('2000-01-01T00:00:00.000Z'), ($1)", [new Date().toISOString()]);
    const third = await openPostgresPackageStorage({ url: database.url, maxConnections: 1 });
    await third.close();
    const left = await client.query<{ n: string }>('SELECT count(*) AS n FROM package_blobs');
    assert.equal(Number(left.rows[0]!.n), 2);
    await client.end();
  });
});

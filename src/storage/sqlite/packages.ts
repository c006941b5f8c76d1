import type { Database as Db } from 'better-sqlite3';
import type { Readable } from 'node:stream';
import { errors } from '../../core/errors.js';
import { ChunkCache, DEFAULT_CACHE_BYTES, DEFAULT_CHUNK_SIZE, DEFAULT_PIECE_SIZE, cachedPieces, pieceStream, writeChunks, type PackageKey, type PackageStorage, type PackageUpload, type StoredPackage } from '../packages.js';
import { PACKAGE_COLUMNS, type PackageRow, toStoredPackage } from '../package-rows.js';
import { type SynchronousMode, openDatabase } from './connection.js';

/**
 * Schema of packages.db: a file of its own, so hundreds of megabytes of chunks never sit in (or
 * slow down the backups and VACUUMs of) tether.db, and an upload's writes never wait for the
 * register's writer. Append only, like schema.ts.
 *
 * A blob is one stored copy of a file; `packages` points at the blob each version serves. A new
 * upload fills a new blob and then swaps the pointer, so a reader never sees half a file.
 */
const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE package_blobs (
    blob_id    INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL
  );
  -- A rowid table (not WITHOUT ROWID): chunk rows are large, and their overflow pages are read by key.
  CREATE TABLE package_chunks (
    blob_id INTEGER NOT NULL REFERENCES package_blobs (blob_id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
  );
  CREATE TABLE packages (
    application_name TEXT NOT NULL,
    version          TEXT NOT NULL,
    blob_id          INTEGER NOT NULL REFERENCES package_blobs (blob_id),
    file_name        TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    chunk_size       INTEGER NOT NULL,
    uploaded_at      TEXT NOT NULL,
    PRIMARY KEY (application_name, version)
  ) WITHOUT ROWID;
  CREATE INDEX packages_by_blob ON packages (blob_id);
  `,
];

export interface SqlitePackageOptions {
  file: string;
  synchronous?: SynchronousMode;
  /** Bytes per stored chunk (default 256 KiB). */
  chunkSize?: number;
  /** Bytes a download reads at a time (default 64 KiB). */
  pieceSize?: number;
  /** Bytes of recently read chunks kept for other downloads (default 8 MB; 0: none). */
  cacheBytes?: number;
}

export async function openSqlitePackageStorage(options: SqlitePackageOptions): Promise<PackageStorage> {
  // 64 KiB pages: a 256 KiB chunk is 4 overflow pages instead of 64, and a download's piece is read
  // at about twice the rate (docs/performance.md, issue 14). A file made before keeps its own size.
  const db = openDatabase(options.file, options.synchronous ?? 'FULL', { pageSize: 65536 });
  // Package bytes are read once per download and stay in the OS page cache: a large SQLite cache
  // would only copy them into the process (100 devices reading a 10 MB file must not grow it).
  db.pragma('cache_size = -2048');
  const store = new SqlitePackageStorage(db, options.chunkSize ?? DEFAULT_CHUNK_SIZE, options.pieceSize ?? DEFAULT_PIECE_SIZE, new ChunkCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES));
  await store.init();
  return store;
}

function prepare(db: Db) {
  return {
    newBlob: db.prepare<[string], never>('INSERT INTO package_blobs (started_at) VALUES (?)'),
    insertChunk: db.prepare<[number, number, Buffer]>('INSERT INTO package_chunks (blob_id, seq, data) VALUES (?, ?, ?)'),
    deleteBlob: db.prepare<[number]>('DELETE FROM package_blobs WHERE blob_id = ?'),
    get: db.prepare<[string, string], PackageRow>(`SELECT ${PACKAGE_COLUMNS} FROM packages WHERE application_name = ? AND version = ?`),
    upsert: db.prepare(
      `INSERT INTO packages (application_name, version, blob_id, file_name, content_type, size, sha256, chunk_size, uploaded_at)
       VALUES (@applicationName, @version, @blobId, @fileName, @contentType, @size, @sha256, @chunkSize, @uploadedAt)
       ON CONFLICT (application_name, version) DO UPDATE SET blob_id = excluded.blob_id, file_name = excluded.file_name,
         content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256, chunk_size = excluded.chunk_size, uploaded_at = excluded.uploaded_at`,
    ),
    delete: db.prepare<[string, string]>('DELETE FROM packages WHERE application_name = ? AND version = ?'),
    ofApplication: db.prepare<[string], { blob_id: number }>('SELECT blob_id FROM packages WHERE application_name = ?'),
    deleteApplication: db.prepare<[string]>('DELETE FROM packages WHERE application_name = ?'),
    // substr of a BLOB counts bytes from 1.
    piece: db.prepare<[number, number, number, number], { data: Buffer }>('SELECT substr(data, ?, ?) AS data FROM package_chunks WHERE blob_id = ? AND seq = ?'),
    orphans: db.prepare<[], { blob_id: number }>('SELECT blob_id FROM package_blobs WHERE blob_id NOT IN (SELECT blob_id FROM packages)'),
  };
}

class SqlitePackageStorage implements PackageStorage {
  readonly kind = 'sqlite';
  private s: ReturnType<typeof prepare> | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly chunkSize: number,
    private readonly pieceSize: number,
    private readonly cache: ChunkCache,
  ) {}

  async init(): Promise<void> {
    if (this.s) return;
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw errors.schemaTooNew('packages.db', version, MIGRATIONS.length);
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]!);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
    this.s = prepare(this.db);
    // Only this process writes the file: a blob no package points at is an upload a crash cut short.
    const s = this.s;
    this.db.transaction(() => {
      for (const { blob_id } of s.orphans.all()) s.deleteBlob.run(blob_id);
    })();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private st() {
    if (this.closed || !this.s) throw errors.unavailable();
    return this.s;
  }

  async put(upload: PackageUpload, body: AsyncIterable<Uint8Array>): Promise<StoredPackage> {
    const blobId = Number(this.st().newBlob.run(upload.uploadedAt).lastInsertRowid);
    try {
      const stored = await writeChunks(upload, body, { blobId, chunkSize: this.chunkSize }, (first, chunks) => {
        const s = this.st();
        this.db.transaction(() => chunks.forEach((data, i) => s.insertChunk.run(blobId, first + i, data)))();
      });
      const s = this.st();
      this.db.transaction(() => {
        const previous = s.get.get(upload.applicationName, upload.version);
        s.upsert.run({ applicationName: stored.applicationName, version: stored.version, blobId, fileName: stored.fileName, contentType: stored.contentType, size: stored.size, sha256: stored.sha256, chunkSize: stored.chunkSize, uploadedAt: stored.uploadedAt });
        if (previous) s.deleteBlob.run(Number(previous.blob_id));
        if (previous) this.cache.forget(Number(previous.blob_id));
      })();
      return stored;
    } catch (err) {
      if (!this.closed) this.st().deleteBlob.run(blobId);
      throw err;
    }
  }

  async get(key: PackageKey): Promise<StoredPackage | undefined> {
    const row = this.st().get.get(key.applicationName, key.version);
    return row && toStoredPackage(row);
  }

  read(pkg: StoredPackage, start: number, end: number): Readable {
    const pieces = cachedPieces(this.cache, pkg, this.pieceSize, (seq, offset, length) => this.st().piece.get(offset + 1, length, pkg.blobId, seq)?.data);
    return pieceStream(pkg, start, end, pieces, this.pieceSize);
  }

  async delete(key: PackageKey): Promise<boolean> {
    const s = this.st();
    return this.db.transaction(() => {
      const row = s.get.get(key.applicationName, key.version);
      if (!row) return false;
      s.delete.run(key.applicationName, key.version);
      s.deleteBlob.run(Number(row.blob_id));
      this.cache.forget(Number(row.blob_id));
      return true;
    })();
  }

  async deleteApplication(applicationName: string): Promise<number> {
    const s = this.st();
    return this.db.transaction(() => {
      const blobs = s.ofApplication.all(applicationName);
      s.deleteApplication.run(applicationName);
      for (const { blob_id } of blobs) {
        s.deleteBlob.run(blob_id);
        this.cache.forget(blob_id);
      }
      return blobs.length;
    })();
  }
}

import type { Readable } from 'node:stream';
import { ChunkCache, DEFAULT_CACHE_BYTES, DEFAULT_CHUNK_SIZE, DEFAULT_PIECE_SIZE, cachedPieces, pieceStream, writeChunks, type PackageKey, type PackageStorage, type PackageUpload, type StoredPackage } from '../packages.js';
import { PACKAGE_COLUMNS, type PackageRow, toStoredPackage } from '../package-rows.js';
import type { PoolSettings } from './connection.js';
import { ADVISORY_LOCKS } from './locks.js';
import { PACKAGE_MIGRATIONS } from './packages-schema.js';
import { StorePool } from './store-pool.js';

/** An upload that started this long ago and never became a package was cut short (its node died). */
const ABANDONED_AFTER_MS = 24 * 3_600_000;

export interface PostgresPackageOptions extends PoolSettings {
  chunkSize?: number;
  pieceSize?: number;
  /** Bytes of recently read chunks this node keeps for other downloads (default 8 MB; 0: none). */
  cacheBytes?: number;
}

/**
 * Package files in PostgreSQL, shared by every node: uploaded through one, downloaded from any.
 * Its own small pool, as control.ts: a download holds a connection only while one piece is read,
 * so 100 devices share a few connections.
 */
class PostgresPackageStorage implements PackageStorage {
  readonly kind = 'postgres';

  constructor(
    private readonly db: StorePool,
    private readonly chunkSize: number,
    private readonly pieceSize: number,
    private readonly now: () => number,
    private readonly cache: ChunkCache,
  ) {}

  async init(): Promise<void> {
    await this.db.init();
    // Other nodes may be uploading right now: only blobs abandoned long ago are theirs to lose.
    const before = new Date(this.now() - ABANDONED_AFTER_MS).toISOString();
    await this.db.query('DELETE FROM package_blobs b WHERE started_at < $1 AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.blob_id = b.blob_id)', [before]);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async put(upload: PackageUpload, body: AsyncIterable<Uint8Array>): Promise<StoredPackage> {
    const { rows } = await this.db.query<{ blob_id: string }>('INSERT INTO package_blobs (started_at) VALUES ($1) RETURNING blob_id', [upload.uploadedAt]);
    const blobId = Number(rows[0]!.blob_id);
    try {
      const stored = await writeChunks(upload, body, { blobId, chunkSize: this.chunkSize }, (first, chunks) =>
        this.db.transaction(async (client) => {
          for (let i = 0; i < chunks.length; i++) await client.query('INSERT INTO package_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', [blobId, first + i, chunks[i]]);
        }),
      );
      let previousBlob: number | undefined;
      await this.db.transaction(async (client) => {
        // Orders two nodes making an upload of the same version its package, even when it had none
        // yet (no row to lock): each then sees and deletes the blob it replaced.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ADVISORY_LOCKS.packageSwap, `${upload.applicationName}/${upload.version}`]);
        const previous = await client.query<{ blob_id: string }>('SELECT blob_id FROM packages WHERE application_name = $1 AND version = $2', [upload.applicationName, upload.version]);
        await client.query(
          `INSERT INTO packages (application_name, version, blob_id, file_name, content_type, size, sha256, chunk_size, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (application_name, version) DO UPDATE SET blob_id = excluded.blob_id, file_name = excluded.file_name,
             content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256, chunk_size = excluded.chunk_size, uploaded_at = excluded.uploaded_at`,
          [stored.applicationName, stored.version, blobId, stored.fileName, stored.contentType, stored.size, stored.sha256, stored.chunkSize, stored.uploadedAt],
        );
        const old = previous.rows[0];
        previousBlob = old ? Number(old.blob_id) : undefined;
        if (old && Number(old.blob_id) !== blobId) await client.query('DELETE FROM package_blobs WHERE blob_id = $1', [old.blob_id]);
      });
      if (previousBlob !== undefined) this.cache.forget(previousBlob);
      return stored;
    } catch (err) {
      await this.db.query('DELETE FROM package_blobs WHERE blob_id = $1', [blobId]).catch(() => undefined);
      throw err;
    }
  }

  async get(key: PackageKey): Promise<StoredPackage | undefined> {
    const { rows } = await this.db.query<PackageRow>(`SELECT ${PACKAGE_COLUMNS} FROM packages WHERE application_name = $1 AND version = $2`, [key.applicationName, key.version]);
    return rows[0] && toStoredPackage(rows[0]);
  }

  read(pkg: StoredPackage, start: number, end: number): Readable {
    const pieces = cachedPieces(this.cache, pkg, this.pieceSize, async (seq, offset, length) => {
      // substring of bytea counts bytes from 1; on the uncompressed out-of-line column it reads
      // only the slices it needs. base64 travels in 4/3 of the bytes where bytea's text form (hex)
      // takes 2 (node-postgres reads no binary results); Node's decoder skips encode()'s line breaks.
      const { rows } = await this.db.query<{ data: string }>("SELECT encode(substring(data FROM $1 FOR $2), 'base64') AS data FROM package_chunks WHERE blob_id = $3 AND seq = $4", [offset + 1, length, pkg.blobId, seq]);
      const data = rows[0]?.data;
      return data === undefined ? undefined : Buffer.from(data, 'base64');
    });
    return pieceStream(pkg, start, end, pieces, this.pieceSize);
  }

  async delete(key: PackageKey): Promise<boolean> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<{ blob_id: string }>('DELETE FROM packages WHERE application_name = $1 AND version = $2 RETURNING blob_id', [key.applicationName, key.version]);
      if (rows.length === 0) return false;
      await client.query('DELETE FROM package_blobs WHERE blob_id = $1', [rows[0]!.blob_id]);
      this.cache.forget(Number(rows[0]!.blob_id));
      return true;
    });
  }

  async deleteApplication(applicationName: string): Promise<number> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<{ blob_id: string }>('DELETE FROM packages WHERE application_name = $1 RETURNING blob_id', [applicationName]);
      if (rows.length > 0) await client.query('DELETE FROM package_blobs WHERE blob_id = ANY($1::bigint[])', [rows.map((r) => r.blob_id)]);
      for (const row of rows) this.cache.forget(Number(row.blob_id));
      return rows.length;
    });
  }
}

export async function openPostgresPackageStorage(options: PostgresPackageOptions & { now?: () => number }): Promise<PackageStorage> {
  const { chunkSize, pieceSize, cacheBytes, now, ...settings } = options;
  const db = await StorePool.open({ maxConnections: 4, ...settings }, PACKAGE_MIGRATIONS);
  const store = new PostgresPackageStorage(db, chunkSize ?? DEFAULT_CHUNK_SIZE, pieceSize ?? DEFAULT_PIECE_SIZE, now ?? Date.now, new ChunkCache(cacheBytes ?? DEFAULT_CACHE_BYTES));
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}


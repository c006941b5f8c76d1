import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';

/**
 * The package tables (packages.ts): the layout of SQLite's packages.db (src/storage/sqlite/packages.ts)
 * in the database every node shares, so any node serves a package uploaded through another. A
 * migration set of its own, versioned in `tether_packages_schema`.
 *
 * Chunks are bytea rows of at most 256 KiB kept out of line uncompressed (STORAGE EXTERNAL): package
 * files are mostly compressed already, so trying to compress them again only costs the upload.
 */
export const PACKAGE_MIGRATIONS: MigrationSet = {
  name: 'Packages',
  table: 'tether_packages_schema',
  lock: ADVISORY_LOCKS.packageMigrations,
  migrations: [
    /* 1: blobs (stored copies of a file), their chunks, and the package each software version serves */ `
    CREATE TABLE package_blobs (
      blob_id    bigserial PRIMARY KEY,
      started_at text NOT NULL
    );
    CREATE TABLE package_chunks (
      blob_id bigint NOT NULL REFERENCES package_blobs (blob_id) ON DELETE CASCADE,
      seq     integer NOT NULL,
      data    bytea NOT NULL,
      PRIMARY KEY (blob_id, seq)
    );
    ALTER TABLE package_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE TABLE packages (
      application_name text COLLATE "C" NOT NULL,
      version          text COLLATE "C" NOT NULL,
      blob_id          bigint NOT NULL REFERENCES package_blobs (blob_id),
      file_name        text NOT NULL,
      content_type     text NOT NULL,
      size             bigint NOT NULL,
      sha256           text NOT NULL,
      chunk_size       integer NOT NULL,
      uploaded_at      text NOT NULL,
      PRIMARY KEY (application_name, version)
    );
    CREATE INDEX packages_by_blob ON packages (blob_id);
    `,
  ],
};

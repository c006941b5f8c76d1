import type { StoredPackage } from './packages.js';

/** The row of `packages` as both dialects return it (PostgreSQL's bigint size comes back as text). */
export interface PackageRow {
  application_name: string;
  version: string;
  blob_id: number | string;
  file_name: string;
  content_type: string;
  size: number | string;
  sha256: string;
  chunk_size: number;
  uploaded_at: string;
}

export const PACKAGE_COLUMNS = 'application_name, version, blob_id, file_name, content_type, size, sha256, chunk_size, uploaded_at';

export function toStoredPackage(row: PackageRow): StoredPackage {
  return {
    applicationName: row.application_name,
    version: row.version,
    fileName: row.file_name,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    uploadedAt: row.uploaded_at,
    blobId: Number(row.blob_id),
    chunkSize: row.chunk_size,
  };
}

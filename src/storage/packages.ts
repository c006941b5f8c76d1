import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { errors } from '../core/errors.js';
import type { PackageInfo } from '../core/software.js';
import type { Iso } from '../core/types.js';

/**
 * Package files of software versions (Kaa OTAO, issue 14), hosted by Tether: one file per
 * (application, version), kept as fixed-size chunks so a file is neither written nor read whole.
 * Apart from `Storage` like `ControlStorage`: SQLite keeps it in packages.db, PostgreSQL in its own
 * migration set. Every implementation passes test/storage/packages-conformance.ts.
 *
 * Durability: `put` resolves only once the whole file is committed; until then readers see the
 * previous file (or none), never a part of the new one. Calls after `close()` reject UNAVAILABLE.
 */
export interface PackageKey {
  applicationName: string;
  version: string;
}

/** What is stored: the package's info, plus where its bytes are (for `read`). */
export interface StoredPackage extends PackageKey, PackageInfo {
  /** Which stored copy of the bytes: a new upload of the same version gets a new one. */
  blobId: number;
  /** Bytes per chunk; the last chunk may be shorter. */
  chunkSize: number;
}

export interface PackageUpload extends PackageKey {
  fileName: string;
  contentType: string;
  uploadedAt: Iso;
  /** More bytes than this rejects PACKAGE_TOO_LARGE, and nothing of the upload stays stored. */
  maxBytes: number;
}

export interface PackageStorage {
  readonly kind: string;
  init(): Promise<void>;
  /**
   * Stores the file read from `body`, chunk by chunk, computing its size and SHA-256 on the way;
   * then, in one transaction, makes it the version's package (replacing and deleting the previous
   * one). A failure or a too large file leaves the previous package as it was.
   */
  put(upload: PackageUpload, body: AsyncIterable<Uint8Array>): Promise<StoredPackage>;
  get(key: PackageKey): Promise<StoredPackage | undefined>;
  /**
   * Bytes `start` to `end` (inclusive) of a stored package, read one chunk at a time as the consumer
   * takes them. Errors the stream if the package is replaced or deleted while it is read.
   */
  read(pkg: StoredPackage, start: number, end: number): Readable;
  delete(key: PackageKey): Promise<boolean>;
  /** Every package of the application; resolves with how many there were. */
  deleteApplication(applicationName: string): Promise<number>;
  close(): Promise<void>;
}

/** 256 KiB: a ranged read touches at most a chunk it does not need at each end. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/**
 * What a download reads at a time. A piece waits in the stream and another in the socket's buffer,
 * so 100 devices hold about 200 pieces: at 64 KiB that is 13 MB (see docs/performance.md, issue 14).
 */
export const DEFAULT_PIECE_SIZE = 64 * 1024;

export interface Chunked {
  /** Hex SHA-256 of every byte yielded, once the iteration ended. */
  sha256(): string;
  size(): number;
  chunks: AsyncIterable<Buffer>;
}

/**
 * Cuts `body` into chunks of exactly `chunkSize` bytes (the last one shorter), hashing and counting
 * as it goes; more than `maxBytes` in all throws PACKAGE_TOO_LARGE before the chunk is yielded.
 * At most one chunk is held in memory.
 */
export function chunked(body: AsyncIterable<Uint8Array>, chunkSize: number, maxBytes: number): Chunked {
  const hash = createHash('sha256');
  let total = 0;
  let digest: string | undefined;
  async function* cut(): AsyncGenerator<Buffer> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const piece of body) {
      let data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      total += data.length;
      if (total > maxBytes) throw errors.packageTooLarge(maxBytes);
      hash.update(data);
      while (data.length > 0) {
        const take = Math.min(chunkSize - pendingBytes, data.length);
        pending.push(data.subarray(0, take));
        pendingBytes += take;
        data = data.subarray(take);
        if (pendingBytes === chunkSize) {
          yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
    digest = hash.digest('hex');
  }
  return {
    chunks: cut(),
    size: () => total,
    sha256: () => {
      if (digest === undefined) throw errors.internal(new Error('the SHA-256 of a package is known only once all of it was read'));
      return digest;
    },
  };
}

/** Chunks written per transaction while an upload streams in: one fsync per 4 MiB instead of one per chunk, 4 MiB held at most. */
export const CHUNKS_PER_COMMIT = 16;

/**
 * Streams an upload into chunk rows, CHUNKS_PER_COMMIT at a time through `write` (each call one
 * transaction of the dialect, given the sequence number of its first chunk), and returns the
 * package as it will be stored: its size and SHA-256 as computed on the way.
 */
export async function writeChunks(
  upload: PackageUpload,
  body: AsyncIterable<Uint8Array>,
  blob: { blobId: number; chunkSize: number },
  write: (firstSeq: number, chunks: Buffer[]) => void | Promise<void>,
): Promise<StoredPackage> {
  const cut = chunked(body, blob.chunkSize, upload.maxBytes);
  let batch: Buffer[] = [];
  let seq = 0;
  for await (const chunk of cut.chunks) {
    batch.push(chunk);
    seq++;
    if (batch.length === CHUNKS_PER_COMMIT) {
      await write(seq - batch.length, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await write(seq - batch.length, batch);
  return {
    applicationName: upload.applicationName,
    version: upload.version,
    fileName: upload.fileName,
    contentType: upload.contentType,
    size: cut.size(),
    sha256: cut.sha256(),
    uploadedAt: upload.uploadedAt,
    blobId: blob.blobId,
    chunkSize: blob.chunkSize,
  };
}

/** Which chunks hold bytes `start`..`end` (inclusive), and where in the first and last they begin and end. */
export function chunkSpan(chunkSize: number, start: number, end: number): { first: number; last: number; offsetInFirst: number } {
  return { first: Math.floor(start / chunkSize), last: Math.floor(end / chunkSize), offsetInFirst: start % chunkSize };
}

/** Reads one piece of a stored chunk: `length` bytes from `offset` of chunk `seq`; undefined when the chunk is gone. */
export type PieceReader = (seq: number, offset: number, length: number) => Buffer | undefined | Promise<Buffer | undefined>;

/**
 * Bytes `start`..`end` of `pkg` as a stream that reads the next piece only when the consumer asks
 * for more (a slow device holds about one piece in memory, not the file). `pieceSize` is at most
 * the chunk size; smaller pieces hold less memory per download at the price of more reads.
 */
export function pieceStream(pkg: StoredPackage, start: number, end: number, readPiece: PieceReader, pieceSize: number): Readable {
  let position = start;
  const piece = Math.max(1, Math.min(pieceSize, pkg.chunkSize));
  const stream: Readable = new Readable({
    // One piece buffered ahead of the consumer is enough: the next read starts when it is taken.
    highWaterMark: 1,
    read() {
      if (position > end) {
        stream.push(null);
        return;
      }
      const seq = Math.floor(position / pkg.chunkSize);
      const offset = position % pkg.chunkSize;
      // Pieces are aligned within their chunk (a range starting mid-piece reads up to the boundary
      // first), so every download reads the same pieces and the cache can share them.
      const length = Math.min(piece - (offset % piece), pkg.chunkSize - offset, end + 1 - position);
      const deliver = (data: Buffer | undefined) => {
        // A shorter chunk or none: the package was replaced or deleted under the reader.
        if (data === undefined || data.length !== length) {
          stream.destroy(errors.packageChanged(pkg.applicationName, pkg.version));
          return;
        }
        position += length;
        stream.push(data);
      };
      let got: ReturnType<PieceReader>;
      try {
        got = readPiece(seq, offset, length);
      } catch (err) {
        stream.destroy(err as Error);
        return;
      }
      // SQLite answers at once; PostgreSQL later.
      if (got instanceof Promise) got.then(deliver, (err: unknown) => stream.destroy(err as Error));
      else deliver(got);
    },
  });
  return stream;
}

/**
 * The pieces a node read last, shared by every download: 100 devices fetching one package read
 * each piece from the database about once instead of 100 times, and hold views of the same buffers
 * instead of 100 copies (every piece read anew is garbage the collector must catch up with; at
 * hundreds of MB/s that garbage, not the file, is what grows the process). Pieces, not whole
 * chunks: a view keeps its whole buffer alive. Bounded in bytes. When full, the least recently used
 * piece makes room only if no download used it for `idleMs`: devices reading a file larger than the
 * cache, each at its own place, would otherwise evict every piece just before the next one needs it
 * (so a full cache keeps what it has and serves the rest uncached); a package nobody downloads any
 * more ages out. Overlapping reads of one piece share one database read.
 */
export class ChunkCache {
  private readonly entries = new Map<string, { buffer: Buffer; usedAt: number }>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly idleMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(blobId: number, seq: number, offset: number, load: () => Buffer | undefined | Promise<Buffer | undefined>): Buffer | undefined | Promise<Buffer | undefined> {
    const key = `${blobId}:${seq}:${offset}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is the LRU order: a hit moves to the end.
      this.entries.delete(key);
      hit.usedAt = this.now();
      this.entries.set(key, hit);
      return hit.buffer;
    }
    const pending = this.loading.get(key);
    if (pending) return pending;
    const got = load();
    if (!(got instanceof Promise)) {
      if (got) this.add(key, got);
      return got;
    }
    const shared = got.then(
      (piece) => {
        this.loading.delete(key);
        if (piece) this.add(key, piece);
        return piece;
      },
      (err: unknown) => {
        this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, shared);
    return shared;
  }

  /** A replaced or deleted blob: its pieces are not served from here again. */
  forget(blobId: number): void {
    const prefix = `${blobId}:`;
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.bytes -= entry.buffer.length;
    }
  }

  private add(key: string, buffer: Buffer): void {
    const now = this.now();
    for (const [oldest, entry] of this.entries) {
      if (this.bytes + buffer.length <= this.maxBytes) break;
      if (now - entry.usedAt < this.idleMs) return;
      this.entries.delete(oldest);
      this.bytes -= entry.buffer.length;
    }
    if (this.bytes + buffer.length > this.maxBytes) return;
    this.entries.set(key, { buffer, usedAt: now });
    this.bytes += buffer.length;
  }
}

/** 16 MB: 256 pieces of 64 KiB; a 10 MB package that 100 devices download at once fits whole. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

/** Loads the aligned piece `length` bytes at `offset` of chunk `seq` (shorter or undefined: the chunk is gone). */
export type AlignedLoader = (seq: number, offset: number, length: number) => Buffer | undefined | Promise<Buffer | undefined>;

/**
 * Reads pieces through `cache`: each read is a view of the aligned piece of `pieceSize` bytes that
 * holds it (pieceStream never crosses a piece boundary in one read).
 */
export function cachedPieces(cache: ChunkCache, pkg: StoredPackage, pieceSize: number, loadAligned: AlignedLoader): PieceReader {
  const piece = Math.max(1, Math.min(pieceSize, pkg.chunkSize));
  return (seq, offset, length) => {
    const aligned = offset - (offset % piece);
    const alignedLength = Math.min(piece, pkg.chunkSize - aligned);
    const within = offset - aligned;
    const slice = (buffer: Buffer | undefined) => (buffer && buffer.length >= within + length ? buffer.subarray(within, within + length) : undefined);
    const got = cache.get(pkg.blobId, seq, aligned, () => loadAligned(seq, aligned, alignedLength));
    return got instanceof Promise ? got.then(slice) : slice(got);
  };
}

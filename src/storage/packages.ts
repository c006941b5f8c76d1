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
      const length = Math.min(piece, pkg.chunkSize - offset, end + 1 - position);
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
 * The chunks a node read last, shared by every download: 100 devices fetching one package read
 * each chunk from the database about once instead of 100 times, and their pieces are views of the
 * same buffers instead of 100 copies. Bounded in bytes (least recently used goes first); reads of
 * one chunk that overlap share one database read.
 */
export class ChunkCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(blobId: number, seq: number, load: () => Buffer | undefined | Promise<Buffer | undefined>): Buffer | undefined | Promise<Buffer | undefined> {
    const key = `${blobId}:${seq}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is the LRU order: a hit moves to the end.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.loading.get(key);
    if (pending) return pending;
    const got = load();
    if (!(got instanceof Promise)) {
      if (got) this.add(key, got);
      return got;
    }
    const shared = got.then(
      (chunk) => {
        this.loading.delete(key);
        if (chunk) this.add(key, chunk);
        return chunk;
      },
      (err: unknown) => {
        this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, shared);
    return shared;
  }

  /** A replaced or deleted blob: its chunks are not served from here again. */
  forget(blobId: number): void {
    const prefix = `${blobId}:`;
    for (const [key, chunk] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.bytes -= chunk.length;
    }
  }

  private add(key: string, chunk: Buffer): void {
    if (chunk.length > this.maxBytes) return;
    this.entries.set(key, chunk);
    this.bytes += chunk.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.length;
    }
  }
}

/** 8 MB: 32 chunks, what 100 devices downloading one package at slightly different speeds share. */
export const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;

/** Reads pieces as views of whole chunks loaded through `cache`; a chunk shorter than asked is gone (replaced). */
export function cachedPieces(cache: ChunkCache, pkg: StoredPackage, loadChunk: (seq: number) => Buffer | undefined | Promise<Buffer | undefined>): PieceReader {
  const slice = (chunk: Buffer | undefined, offset: number, length: number) => (chunk && chunk.length >= offset + length ? chunk.subarray(offset, offset + length) : undefined);
  return (seq, offset, length) => {
    const chunk = cache.get(pkg.blobId, seq, () => loadChunk(seq));
    return chunk instanceof Promise ? chunk.then((c) => slice(c, offset, length)) : slice(chunk, offset, length);
  };
}

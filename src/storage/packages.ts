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

/** The behaviour every PackageStorage must have; packages-conformance.test.ts runs it on every backend of backends.ts. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { PackageStorage, PackageUpload } from '../../src/storage/packages.js';

export interface OpenedPackageStorage {
  store: PackageStorage;
  cleanup: () => Promise<void>;
  /** Opens the same data again (durability). */
  reopen: () => Promise<PackageStorage>;
}

/** The suites open stores with small chunks, so a few KB cross many chunk boundaries. */
export const TEST_CHUNK_SIZE = 1000;

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

const upload = (over: Partial<PackageUpload> = {}): PackageUpload => ({
  applicationName: 'app', version: '1.0.0', fileName: 'fw.bin', contentType: 'application/octet-stream', uploadedAt: T0, maxBytes: 1_000_000, ...over,
});

/** Deterministic bytes, different per seed. */
function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The body arrives in pieces of odd sizes, as a socket delivers it. */
async function* pieces(data: Buffer, size = 777): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function* failingAfter(data: Buffer, bytes: number): AsyncGenerator<Buffer> {
  yield data.subarray(0, bytes);
  throw new Error('connection reset');
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function packageStorageConformance(name: string, open: () => Promise<OpenedPackageStorage>): void {
  async function withStore(fn: (store: PackageStorage, opened: OpenedPackageStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`PackageStorage conformance: ${name}`, () => {
    test('put stores the body whole, with its size and SHA-256; get answers the same; reading it back gives the same bytes', () =>
      withStore(async (store) => {
        const data = bytes(10_500);
        assert.equal(await store.get({ applicationName: 'app', version: '1.0.0' }), undefined);
        const stored = await store.put(upload(), pieces(data));
        assert.equal(stored.size, data.length);
        assert.equal(stored.sha256, sha(data));
        assert.equal(stored.fileName, 'fw.bin');
        assert.equal(stored.contentType, 'application/octet-stream');
        assert.equal(stored.uploadedAt, T0);
        assert.deepEqual(await store.get({ applicationName: 'app', version: '1.0.0' }), stored);
        assert.ok((await collect(store.read(stored, 0, data.length - 1))).equals(data));
      }));

    test('ranges: within a chunk, across chunk boundaries, the first and the last byte, exactly one chunk', () =>
      withStore(async (store) => {
        const data = bytes(5 * TEST_CHUNK_SIZE + 123, 2);
        const stored = await store.put(upload(), pieces(data, 4096));
        const ranges: Array<[number, number]> = [
          [0, 0],
          [10, 20],
          [TEST_CHUNK_SIZE - 1, TEST_CHUNK_SIZE],
          [TEST_CHUNK_SIZE, 2 * TEST_CHUNK_SIZE - 1],
          [999, 4321],
          [data.length - 1, data.length - 1],
          [3 * TEST_CHUNK_SIZE + 5, data.length - 1],
        ];
        for (const [start, end] of ranges) {
          const got = await collect(store.read(stored, start, end));
          assert.ok(got.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`);
        }
      }));

    test('an empty file and a file of exactly whole chunks are stored as they are', () =>
      withStore(async (store) => {
        const empty = await store.put(upload({ version: '0.0.1' }), pieces(Buffer.alloc(0)));
        assert.equal(empty.size, 0);
        assert.equal(empty.sha256, sha(Buffer.alloc(0)));
        const whole = bytes(3 * TEST_CHUNK_SIZE, 3);
        const stored = await store.put(upload({ version: '0.0.2' }), pieces(whole, TEST_CHUNK_SIZE));
        assert.ok((await collect(store.read(stored, 0, whole.length - 1))).equals(whole));
      }));

    test('more than maxBytes rejects PACKAGE_TOO_LARGE, and the previous package stays as it was', () =>
      withStore(async (store) => {
        const first = bytes(2000, 4);
        const stored = await store.put(upload({ maxBytes: 5000 }), pieces(first));
        await assert.rejects(store.put(upload({ maxBytes: 5000, uploadedAt: T1 }), pieces(bytes(5001, 5))), (err: unknown) => isTetherError(err) && err.code === 'PACKAGE_TOO_LARGE' && err.status === 413);
        assert.deepEqual(await store.get({ applicationName: 'app', version: '1.0.0' }), stored);
        assert.ok((await collect(store.read(stored, 0, first.length - 1))).equals(first));
        // Exactly the limit is allowed.
        assert.equal((await store.put(upload({ maxBytes: 5000 }), pieces(bytes(5000, 6)))).size, 5000);
      }));

    test('a body that fails part-way stores nothing and keeps the previous package', () =>
      withStore(async (store) => {
        const first = bytes(1500, 7);
        const stored = await store.put(upload(), pieces(first));
        await assert.rejects(store.put(upload({ uploadedAt: T1 }), failingAfter(bytes(9000, 8), 4500)), /connection reset/);
        assert.deepEqual(await store.get({ applicationName: 'app', version: '1.0.0' }), stored);
      }));

    test('a new upload replaces the old one; a reader of the old one is stopped with PACKAGE_CHANGED rather than fed the new bytes', () =>
      withStore(async (store) => {
        const old = await store.put(upload(), pieces(bytes(4 * TEST_CHUNK_SIZE, 9)));
        const next = bytes(4 * TEST_CHUNK_SIZE, 10);
        const replaced = await store.put(upload({ fileName: 'fw2.bin', contentType: 'application/x-tar', uploadedAt: T1 }), pieces(next));
        assert.notEqual(replaced.blobId, old.blobId);
        assert.deepEqual(await store.get({ applicationName: 'app', version: '1.0.0' }), replaced);
        assert.equal(replaced.fileName, 'fw2.bin');
        assert.ok((await collect(store.read(replaced, 0, next.length - 1))).equals(next));
        await assert.rejects(collect(store.read(old, 0, old.size - 1)), (err: unknown) => isTetherError(err) && err.code === 'PACKAGE_CHANGED');
      }));

    test('versions and applications are apart; delete and deleteApplication remove only theirs', () =>
      withStore(async (store) => {
        await store.put(upload({ version: '1.0.0' }), pieces(bytes(100, 11)));
        await store.put(upload({ version: '1.1.0' }), pieces(bytes(200, 12)));
        await store.put(upload({ applicationName: 'other', version: '1.0.0' }), pieces(bytes(300, 13)));
        assert.equal((await store.get({ applicationName: 'app', version: '1.1.0' }))?.size, 200);
        assert.equal((await store.get({ applicationName: 'other', version: '1.0.0' }))?.size, 300);

        assert.equal(await store.delete({ applicationName: 'app', version: '1.0.0' }), true);
        assert.equal(await store.delete({ applicationName: 'app', version: '1.0.0' }), false);
        assert.equal(await store.get({ applicationName: 'app', version: '1.0.0' }), undefined);
        assert.equal((await store.get({ applicationName: 'app', version: '1.1.0' }))?.size, 200);

        await store.put(upload({ version: '2.0.0' }), pieces(bytes(50, 14)));
        assert.equal(await store.deleteApplication('app'), 2);
        assert.equal(await store.deleteApplication('app'), 0);
        assert.equal(await store.get({ applicationName: 'app', version: '1.1.0' }), undefined);
        assert.equal((await store.get({ applicationName: 'other', version: '1.0.0' }))?.size, 300);
      }));

    test('a stored package survives a reopen', () =>
      withStore(async (store, opened) => {
        const data = bytes(3333, 15);
        const stored = await store.put(upload(), pieces(data));
        await store.close();
        const again = await opened.reopen();
        try {
          const got = await again.get({ applicationName: 'app', version: '1.0.0' });
          assert.deepEqual(got, stored);
          assert.ok((await collect(again.read(got!, 0, data.length - 1))).equals(data));
        } finally {
          await again.close();
        }
      }));

    test('many readers of one package at once each get the whole file', () =>
      withStore(async (store) => {
        const data = bytes(20 * TEST_CHUNK_SIZE + 7, 16);
        const stored = await store.put(upload(), pieces(data, 3000));
        const copies = await Promise.all(Array.from({ length: 20 }, () => collect(store.read(stored, 0, data.length - 1))));
        for (const copy of copies) assert.ok(copy.equals(data));
      }));

    test('after close every call rejects UNAVAILABLE', () =>
      withStore(async (store, opened) => {
        const again = await opened.reopen();
        await again.close();
        await assert.rejects(again.get({ applicationName: 'app', version: '1.0.0' }), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
        await assert.rejects(again.put(upload(), pieces(bytes(10))), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
        void store;
      }));
  });
}

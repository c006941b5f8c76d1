/**
 * The simulator's package download (`tether device --ota`): resumed with Range after a broken
 * transfer, started over when the server ignores Range, and refused with the reason a device
 * reports when the size or the SHA-256 does not match. A real HTTP server on port 0.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from '../helpers/test.js';
import { downloadAndCheck, type OtaEvent } from '../../src/cli/commands/device-ota.js';

const bytes = randomBytes(256 * 1024);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const seen: Array<{ path: string; range: string | undefined; ifRange: string | undefined }> = [];
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    seen.push({ path: req.url ?? '', range, ifRange: req.headers['if-range'] as string | undefined });
    if (req.url === '/gone') return void res.writeHead(404).end('{"code":"PACKAGE_NOT_FOUND"}');
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    if (match && req.url !== '/no-range') {
      const from = Number(match[1]);
      res.writeHead(206, { 'content-length': bytes.length - from, 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}`, etag: `"${sha256}"` });
      return void res.end(bytes.subarray(from));
    }
    res.writeHead(200, { 'content-length': bytes.length, etag: `"${sha256}"` });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const run = (url: string, pkg: { sha256?: string; size?: number }, interruptAt?: number) => {
  const events: OtaEvent[] = [];
  const outcome = downloadAndCheck({ url, ...pkg }, { interruptAt, downloadAttempts: 3 }, (e) => events.push(e), new AbortController().signal);
  return outcome.then((problem) => ({ problem, events }));
};

test('a broken transfer resumes with Range and If-Range from the bytes received, and the whole file checks out', async () => {
  seen.length = 0;
  const { problem, events } = await run(`${base}/pkg`, { sha256, size: bytes.length }, 100_000);
  assert.equal(problem, undefined);
  assert.deepEqual(events.map((e) => e.kind), ['downloading', 'download-broken', 'downloading']);
  assert.deepEqual(seen.map((s) => [s.range, s.ifRange]), [[undefined, undefined], ['bytes=100000-', `"${sha256}"`]]);
});

test('a server that ignores Range sends the whole file again: the download starts over and still checks out', async () => {
  seen.length = 0;
  const { problem } = await run(`${base}/no-range`, { sha256, size: bytes.length }, 50_000);
  assert.equal(problem, undefined);
  assert.equal(seen.length, 2);
});

test('a wrong SHA-256 or size is the reason the device reports; a refused download says the HTTP status', async () => {
  assert.equal((await run(`${base}/pkg`, { sha256: '0'.repeat(64), size: bytes.length })).problem, `SHA-256 mismatch: expected ${'0'.repeat(64)}, got ${sha256}`);
  assert.equal((await run(`${base}/pkg`, { sha256, size: 10 })).problem, `size mismatch: expected 10 bytes, got ${bytes.length}`);
  assert.match((await run(`${base}/gone`, { sha256 })).problem ?? '', /^download refused: HTTP 404 \{"code":"PACKAGE_NOT_FOUND"\}$/);
  assert.match((await run('http://127.0.0.1:9/pkg', { sha256 })).problem ?? '', /^download failed after 3 attempts: cannot reach 127\.0\.0\.1:9/);
});

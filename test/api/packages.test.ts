/**
 * Packages over a real HTTP server (docs/software.md): streamed upload with its limit, SHA-256,
 * operator and device downloads with Range, the endpoint token and the signed URL (expired, wrong
 * token, tampered: refused), a download resumed with Range. On SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { describe, test } from '../helpers/test.js';
import { silentLogger } from '../../src/core/log.js';
import { PackageService } from '../../src/software/packages/index.js';
import { BACKENDS } from '../storage/backends.js';
import { createTestClock, type TestClock } from '../helpers/clock.js';
import { DEMO_APP, DEMO_DECLARATION } from '../helpers/services.js';
import { API_KEY, type ApiHarness, createEndpoint, startApi } from './harness.js';

const LIMIT = 3 * 1024 * 1024;
const OTHER_APP = 'other_app';
const VERSION = '1.2.0';
const UPLOAD = (version = VERSION, app = DEMO_APP) => `/otao/api/v1/applications/${app}/software/${version}/package`;
const DEVICE = (version = VERSION, app = DEMO_APP) => `/otao/api/v1/packages/${app}/${version}`;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: { code?: string; message?: string; size?: number; sha256?: string; fileName?: string; contentType?: string } | undefined;
}

/** One HTTP request with node:http: a streamed (chunked) body, or a Buffer; the answer read whole. */
function raw(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer>; stopAfter?: number } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: options.headers ?? {}, timeout: 20_000 }, (res) => {
      const parts: Buffer[] = [];
      let received = 0;
      res.on('data', (part: Buffer) => {
        parts.push(part);
        received += part.length;
        // A device whose link drops part-way: keep what came, close the connection.
        if (options.stopAfter !== undefined && received >= options.stopAfter) {
          req.destroy();
          finish();
        }
      });
      const finish = () => {
        const body = Buffer.concat(parts);
        let json: Raw['json'];
        try {
          json = (res.headers['content-type'] ?? '').includes('json') ? (JSON.parse(body.toString('utf8')) as Raw['json']) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      };
      res.on('end', finish);
      res.on('error', () => finish());
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 20 s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A server that refuses a body closes the connection: what it answered first still counts.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    const body = options.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else
      void (async () => {
        try {
          for await (const piece of body) if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
          req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      })();
  });
}

async function* streamed(data: Buffer, piece = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const admin = { authorization: `Bearer ${API_KEY}` };

interface Setup {
  api: ApiHarness;
  clock: TestClock;
  packages: PackageService;
  /** A second node's service over the same settings: URLs one signs, the other verifies. */
  otherNode: () => PackageService;
}

async function setup(backendIndex: number, t: { after(fn: () => Promise<void>): void }): Promise<Setup> {
  const clock = createTestClock(Date.now());
  let packages: PackageService | undefined;
  let makeOther: (() => PackageService) | undefined;
  const api = await startApi({
    services: { backend: BACKENDS[backendIndex]!, clock, declare: [...DEMO_DECLARATION, { name: OTHER_APP, versions: [{ name: 'other_v1', extensions: ['epmx'] }] }] },
    extend: async (services) => {
      // Small chunks and pieces: a few MB cross hundreds of chunk boundaries.
      const store = await services.place.openPackages({ chunkSize: 64 * 1024, pieceSize: 16 * 1024 });
      const deps = {
        store,
        settings: services.storage,
        // The software service is another part: here every version but "9.9.9" exists.
        versions: { exists: async (_app: string, version: string) => version !== '9.9.9' },
        credentials: services.credentials,
        bus: services.bus,
        clock,
        logger: silentLogger,
        maxBytes: LIMIT,
        urlTtlSeconds: 3600,
      };
      packages = new PackageService(deps);
      makeOther = () => new PackageService({ ...deps, publicUrl: 'https://tether.example.com/' });
      return {
        deps: { packages },
        close: async () => {
          packages?.close();
          await store.close();
        },
      };
    },
  });
  t.after(() => api.close());
  return { api, clock, packages: packages!, otherNode: makeOther! };
}

for (const [index, name] of [[0, 'sqlite'], [BACKENDS.findIndex((b) => b.name === 'postgres'), 'postgres']] as const) {
  describe(`packages over HTTP (${name})`, () => {
    test('a streamed upload is stored with its size and SHA-256; the operator downloads it whole and in ranges; a new upload replaces it', async (t) => {
      const { api } = await setup(index, t);
      const data = randomBytes(LIMIT - 1000);
      // Chunked: no Content-Length, so the size is known only once the stream ends.
      const up = await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'content-type': 'application/x-firmware', 'x-file-name': 'fw-1.2.0.bin' }, body: streamed(data) });
      assert.equal(up.status, 201, up.body.toString());
      assert.equal(up.json?.size, data.length);
      assert.equal(up.json?.sha256, sha(data));
      assert.equal(up.json?.fileName, 'fw-1.2.0.bin');
      assert.equal(up.json?.contentType, 'application/x-firmware');

      const whole = await raw(api.base, 'GET', UPLOAD(), { headers: admin });
      assert.equal(whole.status, 200);
      assert.ok(whole.body.equals(data));
      assert.equal(whole.headers['etag'], `"${sha(data)}"`);
      assert.equal(whole.headers['accept-ranges'], 'bytes');
      assert.equal(whole.headers['content-length'], String(data.length));
      assert.equal(whole.headers['content-type'], 'application/x-firmware');
      assert.equal(whole.headers['content-disposition'], 'attachment; filename="fw-1.2.0.bin"');

      const part = await raw(api.base, 'GET', UPLOAD(), { headers: { ...admin, range: 'bytes=100000-200001' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 100000-200001/${data.length}`);
      assert.ok(part.body.equals(data.subarray(100000, 200002)));

      // Not a viewer's to upload: API keys and sessions still guard the operator routes.
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { body: Buffer.from('x') })).status, 401);

      const next = randomBytes(5000);
      const replaced = await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'content-length': String(next.length) }, body: next });
      assert.equal(replaced.status, 201);
      assert.equal(replaced.json?.fileName, `${DEMO_APP}-${VERSION}.bin`);
      assert.equal(replaced.json?.contentType, 'application/octet-stream');
      assert.ok((await raw(api.base, 'GET', UPLOAD(), { headers: admin })).body.equals(next));

      const audit = await api.accounts.store.queryAudit({ action: 'package.upload', limit: 10 });
      assert.equal(audit.length, 2);
      const entry = audit.find((e) => e.before !== null)!;
      assert.equal(entry.target, `${DEMO_APP}/${VERSION}`);
      assert.equal((entry.after as { sha256: string }).sha256, sha(next));
    });

    test('over the limit answers 413 (by Content-Length at once, or part-way through a chunked body) and keeps the package it had; bodyLimit and the JSON parser do not apply', async (t) => {
      const { api } = await setup(index, t);
      const first = randomBytes(1000);
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { headers: admin, body: first })).status, 201);

      const declared = await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'content-length': String(LIMIT + 1) }, body: streamed(randomBytes(LIMIT + 1)) });
      assert.equal(declared.status, 413);
      assert.equal(declared.json?.code, 'PACKAGE_TOO_LARGE');
      assert.match(declared.json!.message!, /TETHER_PACKAGE_MAX_MB/);

      const chunked = await raw(api.base, 'PUT', UPLOAD(), { headers: admin, body: streamed(randomBytes(LIMIT + 200_000)) });
      assert.equal(chunked.status, 413);
      assert.equal(chunked.json?.code, 'PACKAGE_TOO_LARGE');
      assert.ok((await raw(api.base, 'GET', UPLOAD(), { headers: admin })).body.equals(first));

      // A JSON body larger than the API's 1 MiB bodyLimit is a file like any other.
      const json = Buffer.from(JSON.stringify({ blob: randomBytes(900_000).toString('base64') }));
      const up = await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'content-type': 'application/json' }, body: json });
      assert.equal(up.status, 201, up.body.toString());
      assert.equal(up.json?.size, json.length);
      assert.equal(up.json?.sha256, sha(json));

      const missing = await raw(api.base, 'PUT', UPLOAD('9.9.9'), { headers: admin, body: Buffer.from('x') });
      assert.equal(missing.status, 404);
      assert.equal(missing.json?.code, 'SOFTWARE_NOT_FOUND');
      const badName = await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'x-file-name': 'a/b.bin' }, body: Buffer.from('x') });
      assert.equal(badName.status, 400);
    });

    test('a device downloads with its token (query or bearer), ranged; refused without one, with another application\'s token, a suspended or an unknown one', async (t) => {
      const { api } = await setup(index, t);
      const data = randomBytes(300_000);
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { headers: admin, body: data })).status, 201);
      const { endpointId, token } = await createEndpoint(api);

      const byQuery = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`);
      assert.equal(byQuery.status, 200);
      assert.ok(byQuery.body.equals(data));
      assert.equal(byQuery.headers['etag'], `"${sha(data)}"`);

      const byBearer = await raw(api.base, 'GET', DEVICE(), { headers: { authorization: `Bearer ${token}`, range: 'bytes=1000-1999' } });
      assert.equal(byBearer.status, 206);
      assert.equal(byBearer.headers['content-length'], '1000');
      assert.ok(byBearer.body.equals(data.subarray(1000, 2000)));

      const tail = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`, { headers: { range: 'bytes=-500' } });
      assert.equal(tail.status, 206);
      assert.equal(tail.headers['content-range'], `bytes ${data.length - 500}-${data.length - 1}/${data.length}`);
      assert.ok(tail.body.equals(data.subarray(-500)));

      const beyond = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`, { headers: { range: `bytes=${data.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);
      assert.equal(beyond.json?.code, 'RANGE_NOT_SATISFIABLE');

      // If-Range names another file: the whole current one comes back, not a piece to splice.
      const stale = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`, { headers: { range: 'bytes=10-', 'if-range': '"0000"' } });
      assert.equal(stale.status, 200);
      assert.ok(stale.body.equals(data));

      const head = await raw(api.base, 'HEAD', `${DEVICE()}?token=${token}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(data.length));

      const none = await raw(api.base, 'GET', DEVICE());
      assert.equal(none.status, 401);
      assert.equal(none.json?.code, 'PACKAGE_TOKEN_MISSING');
      assert.equal((await raw(api.base, 'GET', `${DEVICE()}?token=nope`)).json?.code, 'TOKEN_UNKNOWN');
      assert.equal((await raw(api.base, 'GET', `${DEVICE()}?token=a.b`)).status, 401);

      const other = await api.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'other_v1' } });
      const foreign = await raw(api.base, 'GET', `${DEVICE()}?token=${(other.json as { token: string }).token}`);
      assert.equal(foreign.status, 401);
      assert.equal(foreign.json?.code, 'TOKEN_UNKNOWN');

      const [record] = await api.services.credentials.listTokens(endpointId);
      await api.services.credentials.changeTokenStatus(endpointId, record!.tokenId, 'suspend');
      const suspended = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`);
      assert.equal(suspended.status, 403);
      assert.equal(suspended.json?.code, 'TOKEN_SUSPENDED');

      assert.equal((await raw(api.base, 'GET', `${DEVICE('2.0.0')}?token=${token}`)).json?.code, 'PACKAGE_NOT_FOUND');
    });

    test('a device that lost its link part-way resumes with Range and ends with the exact file', async (t) => {
      const { api } = await setup(index, t);
      const data = randomBytes(2 * 1024 * 1024 + 17);
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { headers: admin, body: streamed(data) })).status, 201);
      const { token } = await createEndpoint(api);

      const cut = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`, { stopAfter: 700_000 });
      assert.ok(cut.body.length >= 700_000 && cut.body.length < data.length, `got ${cut.body.length}`);
      const etag = cut.headers['etag']!;
      const rest = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`, { headers: { range: `bytes=${cut.body.length}-`, 'if-range': etag } });
      assert.equal(rest.status, 206);
      assert.equal(rest.headers['content-range'], `bytes ${cut.body.length}-${data.length - 1}/${data.length}`);
      const file = Buffer.concat([cut.body, rest.body]);
      assert.equal(sha(file), etag.replace(/"/g, ''));
      assert.ok(file.equals(data));
    });

    test('the signed URL a device gets downloads (ranged too) on any node; expired, tampered or for another version it is refused', async (t) => {
      const { api, clock, packages, otherNode } = await setup(index, t);
      const data = randomBytes(100_000);
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { headers: { ...admin, 'x-file-name': 'fw.bin' }, body: data })).status, 201);
      assert.equal(await packages.describeForDevice(DEMO_APP, '3.0.0', api.base), undefined);

      const described = (await packages.describeForDevice(DEMO_APP, VERSION, api.base))!;
      assert.equal(described.sha256, sha(data));
      assert.equal(described.size, data.length);
      assert.equal(described.fileName, 'fw.bin');
      assert.ok(described.url.startsWith(`${api.base}${DEVICE()}?expires=`), described.url);
      const url = new URL(described.url);
      const path = `${url.pathname}${url.search}`;

      const got = await raw(api.base, 'GET', path);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
      const part = await raw(api.base, 'GET', path, { headers: { range: 'bytes=50000-' } });
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(data.subarray(50000)));

      // Another node (same settings store) signs with the same secret, under its public URL.
      const fromOther = (await otherNode().describeForDevice(DEMO_APP, VERSION, 'http://ignored'))!;
      assert.ok(fromOther.url.startsWith(`https://tether.example.com${DEVICE()}?`), fromOther.url);
      const otherUrl = new URL(fromOther.url);
      assert.equal((await raw(api.base, 'GET', `${otherUrl.pathname}${otherUrl.search}`)).status, 200);

      const sig = url.searchParams.get('sig')!;
      const expires = Number(url.searchParams.get('expires'));
      const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
      for (const tampered of [`${url.pathname}?expires=${expires}&sig=${flipped}`, `${url.pathname}?expires=${expires + 3600}&sig=${sig}`, `${DEVICE('1.2.1')}?expires=${expires}&sig=${sig}`, `${url.pathname}?expires=${expires}&sig=short`]) {
        const refused = await raw(api.base, 'GET', tampered);
        if (tampered.includes('1.2.1')) {
          // No package there: nothing to protect, and nothing to say about the signature.
          assert.equal(refused.status, 404);
          continue;
        }
        assert.equal(refused.status, 403, tampered);
        assert.equal(refused.json?.code, 'PACKAGE_SIGNATURE_INVALID');
        assert.match(refused.json!.message!, /cmx_ota/);
      }
      // A signature of another version does not open this one.
      const v2 = randomBytes(10);
      assert.equal((await raw(api.base, 'PUT', UPLOAD('1.2.1'), { headers: admin, body: v2 })).status, 201);
      assert.equal((await raw(api.base, 'GET', `${DEVICE('1.2.1')}?expires=${expires}&sig=${sig}`)).json?.code, 'PACKAGE_SIGNATURE_INVALID');

      clock.advance(3600 * 1000 + 1000);
      const expired = await raw(api.base, 'GET', path);
      assert.equal(expired.status, 403);
      assert.equal(expired.json?.code, 'PACKAGE_URL_EXPIRED');
      assert.match(expired.json!.message!, /fresh URL/);
    });

    test('deleting a package (or its application) leaves nothing to download', async (t) => {
      const { api } = await setup(index, t);
      const { token } = await createEndpoint(api);
      assert.equal((await raw(api.base, 'PUT', UPLOAD(), { headers: admin, body: randomBytes(10) })).status, 201);
      assert.equal((await raw(api.base, 'DELETE', UPLOAD(), { headers: admin })).status, 204);
      const gone = await raw(api.base, 'GET', `${DEVICE()}?token=${token}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.json?.code, 'PACKAGE_NOT_FOUND');
      assert.equal((await raw(api.base, 'DELETE', UPLOAD(), { headers: admin })).status, 404);
      assert.equal((await api.accounts.store.queryAudit({ action: 'package.delete', limit: 10 })).length, 1);

      assert.equal((await raw(api.base, 'PUT', UPLOAD('1.0.0', OTHER_APP), { headers: admin, body: randomBytes(10) })).status, 201);
      assert.equal((await api.call('DELETE', `/api/v1/applications/${OTHER_APP}`)).status, 204);
      const deadline = Date.now() + 10_000;
      while ((await raw(api.base, 'GET', UPLOAD('1.0.0', OTHER_APP), { headers: admin })).status !== 404) {
        assert.ok(Date.now() < deadline, 'the package of the deleted application is still there after 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  });
}

/**
 * A hosted package from upload to device (docs/software.md): the operator uploads the file of a
 * version over REST, the device asks on cmx_ota (7/CMP) and gets the specification plus
 * `package: {url, sha256, size, fileName}`, then downloads the signed URL and checks the SHA-256.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from '../helpers/test.js';
import type { SoftwareRecord } from '../../src/core/software.js';
import { api, connectDevice, startPlatform } from '../control/harness.js';
import { httpCall } from '../helpers/http.js';

const BASE = '/otao/api/v1/applications/demo_application/software';
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function upload(running: Parameters<typeof api>[0], version: string, data: Buffer): Promise<Response> {
  return fetch(`http://127.0.0.1:${running.httpPort}${BASE}/${version}/package`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${running.adminApiKey}`, 'content-type': 'application/octet-stream', 'x-file-name': `fw-${version}.bin` },
    body: data,
    signal: AbortSignal.timeout(10_000),
  });
}

describe('hosted packages on cmx_ota', () => {
  it('the device gets the package URL, SHA-256, size and file name with the specification, and downloads it with that URL alone', async (t) => {
    const running = await startPlatform(t);
    const data = randomBytes(700_000);

    // No version, no package.
    const early = await upload(running, '2.0.0', data);
    assert.equal(early.status, 404);
    assert.equal(((await early.json()) as { code: string }).code, 'SOFTWARE_NOT_FOUND');

    assert.equal((await api(running, 'POST', BASE, { version: '2.0.0', upgradableFrom: ['*'], specification: { reboot: true }, rolloutStrategy: 'general' })).status, 201);
    const stored = await upload(running, '2.0.0', data);
    assert.equal(stored.status, 201);
    const record = await api<SoftwareRecord>(running, 'GET', `${BASE}/2.0.0`);
    assert.equal(record.body.package?.sha256, sha(data));
    assert.equal(record.body.package?.size, data.length);
    assert.equal(record.body.package?.fileName, 'fw-2.0.0.bin');

    const device = await connectDevice(t, running);
    const offered = await device.request('cmx_ota', 'config/json', {}, 2);
    assert.equal(offered.kind, 'status');
    const { configId, config } = offered.json as { configId: string; config: { reboot: boolean; package: { url: string; sha256: string; size: number; fileName: string } } };
    assert.equal(configId, '2.0.0');
    assert.equal(config.reboot, true);
    assert.equal(config.package.sha256, sha(data));
    assert.equal(config.package.size, data.length);
    assert.equal(config.package.fileName, 'fw-2.0.0.bin');
    assert.ok(config.package.url.startsWith(`http://127.0.0.1:${running.httpPort}/otao/api/v1/packages/demo_application/2.0.0?expires=`), config.package.url);

    const download = await fetch(config.package.url, { signal: AbortSignal.timeout(10_000) });
    assert.equal(download.status, 200);
    const body = Buffer.from(await download.arrayBuffer());
    assert.equal(sha(body), config.package.sha256);
    // Or with the endpoint token, as a device that kept no URL would.
    assert.equal((await httpCall(running, 'GET', `/otao/api/v1/packages/demo_application/2.0.0?token=${device.token}`, { headers: { range: 'bytes=0-9' } })).status, 206);

    // The package goes: the device is offered the version without one.
    assert.equal((await httpCall(running, 'DELETE', `${BASE}/2.0.0/package`, { auth: running.adminApiKey })).status, 204);
    const bare = await device.request('cmx_ota', 'config/json', {}, 3);
    assert.deepEqual(bare.json, { configId: '2.0.0', config: { reboot: true } });
  });

  it('listening on every interface, a package URL points at the address the device reached, not localhost', async (t) => {
    const running = await startPlatform(t, ['--host', '0.0.0.0']);
    assert.equal((await api(running, 'POST', BASE, { version: '1.0.2', upgradableFrom: ['*'], specification: {}, rolloutStrategy: 'general' })).status, 201);
    const data = randomBytes(1000);
    assert.equal((await upload(running, '1.0.2', data)).status, 201);
    // 127.0.0.2 is loopback too on Linux: a second address of this machine the device may reach.
    const device = await connectDevice(t, running, { host: '127.0.0.2' });
    const offered = await device.request('cmx_ota', 'config/json', {}, 2);
    const url = (offered.json as { config: { package: { url: string } } }).config.package.url;
    assert.ok(url.startsWith(`http://127.0.0.2:${running.httpPort}/otao/api/v1/packages/demo_application/1.0.2?expires=`), url);
    const download = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    assert.equal(download.status, 200);
    assert.equal(sha(Buffer.from(await download.arrayBuffer())), sha(data));
  });

  it('with a public URL set, package URLs are built on it', async (t) => {
    const running = await startPlatform(t, ['--public-url', 'https://updates.example.com/']);
    assert.equal((await api(running, 'POST', BASE, { version: '1.0.1', upgradableFrom: ['*'], specification: {}, rolloutStrategy: 'general' })).status, 201);
    assert.equal((await upload(running, '1.0.1', randomBytes(10))).status, 201);
    const device = await connectDevice(t, running);
    const offered = await device.request('cmx_ota', 'config/json', {}, 2);
    const url = (offered.json as { config: { package: { url: string } } }).config.package.url;
    assert.ok(url.startsWith('https://updates.example.com/otao/api/v1/packages/demo_application/1.0.1?expires='), url);
  });
});

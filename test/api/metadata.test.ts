import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createEndpoint, startApi, type ApiHarness } from './harness.js';

const EPR = '/epr/api/v1';
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

async function withEndpoint(fn: (api: ApiHarness, base: string) => Promise<void>): Promise<void> {
  const api = await startApi();
  try {
    const { endpointId } = await createEndpoint(api, { metadata: { model: 'A300', floor: 1 } });
    await fn(api, `${EPR}/endpoints/${endpointId}`);
  } finally {
    await api.close();
  }
}

test('PUT replaces the whole metadata and GET reads it back', () =>
  withEndpoint(async (api, base) => {
    assert.deepEqual((await api.call('GET', `${base}/metadata`)).json, { model: 'A300', floor: 1 });
    const put = await api.call('PUT', `${base}/metadata`, { serial: 'X1', location: { lat: 1.5, lon: 2 } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, { serial: 'X1', location: { lat: 1.5, lon: 2 } });
    assert.deepEqual((await api.call('GET', `${base}/metadata`)).json, { serial: 'X1', location: { lat: 1.5, lon: 2 } });
    const endpoint = await api.call('GET', `${base}`);
    assert.notEqual(endpoint.json.metadataUpdatedDate, null);

    const bad = await api.call('PUT', `${base}/metadata`, { 'no-dashes': 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'METADATA_KEY_INVALID');
    assert.equal((await api.call('PUT', `${EPR}/endpoints/nope/metadata`, {})).status, 404);
  }));

test('PATCH applies RFC 6902 operations; invalid operations are 400 and change nothing', () =>
  withEndpoint(async (api, base) => {
    const patched = await api.call(
      'PATCH',
      `${base}/metadata`,
      [
        { op: 'replace', path: '/model', value: 'B200' },
        { op: 'add', path: '/serial', value: 'S-9' },
        { op: 'remove', path: '/floor' },
        { op: 'add', path: '/tags', value: ['a'] },
        { op: 'add', path: '/tags/-', value: 'b' },
      ],
      JSON_PATCH,
    );
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json, { model: 'B200', serial: 'S-9', tags: ['a', 'b'] });
    assert.deepEqual((await api.call('GET', `${base}/metadata`)).json, patched.json);

    const badOp = await api.call('PATCH', `${base}/metadata`, [{ op: 'explode', path: '/model' }], JSON_PATCH);
    assert.equal(badOp.status, 400);
    assert.equal(badOp.json.code, 'VALIDATION_FAILED');
    assert.match(badOp.json.message, /body\[0\]\.op must be one of "add", "remove"/);

    const noPath = await api.call('PATCH', `${base}/metadata`, [{ op: 'remove', path: '/missing' }], JSON_PATCH);
    assert.equal(noPath.status, 400);
    assert.equal(noPath.json.code, 'PAYLOAD_INVALID');
    assert.match(noPath.json.message, /operation 0: Cannot perform the operation at a path that does not exist/);
    // The library's error embeds the document; it must not leak into the message.
    assert.doesNotMatch(noPath.json.message, /B200/);

    const badKey = await api.call('PATCH', `${base}/metadata`, [{ op: 'add', path: '/bad key', value: 1 }], JSON_PATCH);
    assert.equal(badKey.status, 400);
    assert.equal(badKey.json.code, 'METADATA_KEY_INVALID');

    const notObject = await api.call('PATCH', `${base}/metadata`, [{ op: 'replace', path: '', value: [1] }], JSON_PATCH);
    assert.equal(notObject.status, 400);
    assert.equal(notObject.json.code, 'PAYLOAD_INVALID');

    const testFails = await api.call('PATCH', `${base}/metadata`, [{ op: 'test', path: '/model', value: 'A300' }, { op: 'remove', path: '/model' }], JSON_PATCH);
    assert.equal(testFails.status, 409);
    assert.equal(testFails.json.code, 'PATCH_CONFLICT');

    assert.deepEqual((await api.call('GET', `${base}/metadata`)).json, { model: 'B200', serial: 'S-9', tags: ['a', 'b'] });

    const plainJson = await api.call('PATCH', `${base}/metadata`, [{ op: 'remove', path: '/model' }]);
    assert.equal(plainJson.status, 415);
    assert.equal(plainJson.json.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(plainJson.json.message, /application\/json-patch\+json/);
  }));

test('PATCH with application/merge-patch+json merges and removes null members', () =>
  withEndpoint(async (api, base) => {
    await api.call('PUT', `${base}/metadata`, { model: 'A300', floor: 1, location: { lat: 1, lon: 2 } });
    const merged = await api.call('PATCH', `${base}/metadata`, { floor: null, location: { lon: 3 }, serial: 'S' }, MERGE_PATCH);
    assert.equal(merged.status, 200);
    assert.deepEqual(merged.json, { model: 'A300', location: { lat: 1, lon: 3 }, serial: 'S' });
    const notObject = await api.call('PATCH', `${base}/metadata`, '[1]', MERGE_PATCH);
    assert.equal(notObject.status, 400);
  }));

test('per-key GET, PUT (raw JSON value) and DELETE; metadata-keys for endpoint and application', () =>
  withEndpoint(async (api, base) => {
    const model = await api.call('GET', `${base}/metadata/model`);
    assert.equal(model.status, 200);
    assert.equal(model.text, '"A300"');
    assert.match(model.headers.get('content-type') ?? '', /^application\/json/);

    const put = await api.call('PUT', `${base}/metadata/location`, { lat: 10, lon: 20 });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, { lat: 10, lon: 20 });
    const putString = await api.call('PUT', `${base}/metadata/serial`, 'S-1');
    assert.equal(putString.status, 200);
    assert.equal((await api.call('GET', `${base}/metadata/serial`)).json, 'S-1');
    const putNull = await api.call('PUT', `${base}/metadata/note`, null);
    assert.equal(putNull.status, 200);
    assert.equal((await api.call('GET', `${base}/metadata/note`)).text, 'null');
    assert.deepEqual((await api.call('GET', `${base}/metadata`)).json, { model: 'A300', floor: 1, location: { lat: 10, lon: 20 }, serial: 'S-1', note: null });

    const keys = await api.call('GET', `${base}/metadata-keys`);
    assert.deepEqual([...keys.json].sort(), ['floor', 'location', 'model', 'note', 'serial']);

    assert.equal((await api.call('DELETE', `${base}/metadata/floor`)).status, 204);
    const missing = await api.call('GET', `${base}/metadata/floor`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'METADATA_KEY_NOT_FOUND');
    assert.equal((await api.call('DELETE', `${base}/metadata/floor`)).status, 404);

    const badKey = await api.call('PUT', `${base}/metadata/bad-key`, 1);
    assert.equal(badKey.status, 400);
    assert.equal(badKey.json.code, 'METADATA_KEY_INVALID');

    const noBody = await api.call('PUT', `${base}/metadata/empty`);
    assert.equal(noBody.status, 400);

    await createEndpoint(api, { metadata: { firmware: '1.0' } });
    const appKeys = await api.call('GET', `${EPR}/applications/demo_application/metadata-keys`);
    assert.equal(appKeys.status, 200);
    assert.deepEqual(appKeys.json, ['firmware', 'location', 'model', 'note', 'serial']);
    const unknownApp = await api.call('GET', `${EPR}/applications/nope/metadata-keys`);
    assert.equal(unknownApp.status, 404);
    assert.equal(unknownApp.json.code, 'APPLICATION_NOT_FOUND');
  }));

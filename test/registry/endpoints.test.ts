import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from '../helpers/test.js';
import { DEMO_APP, DEMO_VERSION, type TestServices, createTestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('registry: endpoints', () => {
  let t: TestServices;
  beforeEach(async () => {
    t = await createTestServices();
  });
  afterEach(() => t.close());

  test('creates an endpoint with metadata and its first token', async () => {
    const created = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { model: 'A300', floor: 3 } });
    assert.match(created.endpoint.endpointId, UUID);
    assert.equal(created.endpoint.applicationName, DEMO_APP);
    assert.equal(created.endpoint.appVersionName, DEMO_VERSION);
    assert.equal(created.endpoint.connected, false);
    assert.deepEqual(created.endpoint.metadata, { model: 'A300', floor: 3 });
    assert.equal(created.tokenRecord.endpointId, created.endpoint.endpointId);

    const stored = await t.registry.getEndpoint(created.endpoint.endpointId, true);
    assert.deepEqual(stored.metadata, { model: 'A300', floor: 3 });
    assert.equal(stored.createdDate, created.endpoint.createdDate);
    assert.deepEqual(await t.registry.getMetadata(created.endpoint.endpointId, 'operator'), { model: 'A300', floor: 3 });
    assert.equal((await t.credentials.resolveToken(DEMO_APP, created.token)).endpointId, created.endpoint.endpointId);
    await waitFor('endpoint.created', () => t.events.some((e) => e.type === 'endpoint.created' && e.endpointId === created.endpoint.endpointId));
  });

  test('accepts a custom endpoint ID and token', async () => {
    const created = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: 'meter-42:a.b_c', endpointToken: 'myToken' });
    assert.equal(created.endpoint.endpointId, 'meter-42:a.b_c');
    assert.equal(created.token, 'myToken');
    assert.equal(created.tokenRecord.hint, '…oken');
  });

  test('rejects bad input without storing anything', async () => {
    await assert.rejects(t.registry.createEndpoint({ appVersionName: 'nope_v1' }), { code: 'APP_VERSION_NOT_FOUND' });
    for (const endpointId of ['', 'has space', 'slash/no', 'x'.repeat(129)]) {
      await assert.rejects(t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId }), { code: 'ENDPOINT_ID_INVALID' }, endpointId);
    }
    await assert.rejects(t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { 'bad-key': 1 } }), {
      code: 'METADATA_KEY_INVALID',
    });
    await assert.rejects(t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'a/b' }), { code: 'TOKEN_INVALID' });
    await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: 'dup' });
    await assert.rejects(t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: 'dup' }), { code: 'ENDPOINT_CONFLICT' });
    const page = await t.registry.listEndpoints({ offset: 0, limit: 100, includeMetadata: false });
    assert.equal(page.totalElements, 1);
  });

  test('getEndpoint and deleteEndpoint of unknown endpoints are ENDPOINT_NOT_FOUND', async () => {
    await assert.rejects(t.registry.getEndpoint('ghost', false), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.registry.deleteEndpoint('ghost'), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.registry.getMetadata('ghost', 'operator'), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.registry.getMetadata('ghost', 'device'), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.registry.changeMetadata('ghost', { kind: 'merge', metadata: { a: 1 } }, 'operator'), {
      code: 'ENDPOINT_NOT_FOUND',
    });
    await assert.rejects(t.registry.metadataKeys('ghost', 'device'), { code: 'ENDPOINT_NOT_FOUND' });
  });

  test('deleteEndpoint removes the endpoint and its tokens and announces it', async () => {
    const { endpoint, token } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { a: 1 } });
    await t.registry.deleteEndpoint(endpoint.endpointId);
    await assert.rejects(t.registry.getEndpoint(endpoint.endpointId, true), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.credentials.resolveToken(DEMO_APP, token), { code: 'TOKEN_UNKNOWN' });
    await assert.rejects(t.registry.deleteEndpoint(endpoint.endpointId), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.registry.changeMetadata(endpoint.endpointId, { kind: 'merge', metadata: { a: 2 } }, 'device'), {
      code: 'ENDPOINT_NOT_FOUND',
    });
    await waitFor('endpoint.deleted', () => t.events.some((e) => e.type === 'endpoint.deleted' && e.endpointId === endpoint.endpointId));
  });

  test('listEndpoints clamps the page size to 1..1000', async () => {
    for (let i = 0; i < 3; i++) await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointId: `ep${i}` });
    const one = await t.registry.listEndpoints({ offset: 0, limit: 0, includeMetadata: false });
    assert.equal(one.totalElements, 3);
    assert.equal(one.content.length, 1);
    const all = await t.registry.listEndpoints({ offset: -5, limit: 1_000_000, includeMetadata: true, sort: { field: 'endpointId', direction: 'asc' } });
    assert.deepEqual(all.content.map((e) => e.endpointId), ['ep0', 'ep1', 'ep2']);
    const filtered = await t.registry.listEndpoints({ offset: 0, limit: 10, includeMetadata: false, appVersionName: DEMO_VERSION, endpointIds: ['ep1'] });
    assert.deepEqual(filtered.content.map((e) => e.endpointId), ['ep1']);
  });

  test('applicationMetadataKeys lists the keys used in the application', async () => {
    await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { b: 1, a: 2 } });
    await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, metadata: { c: 3 } });
    assert.deepEqual(await t.registry.applicationMetadataKeys(DEMO_APP), ['a', 'b', 'c']);
    await assert.rejects(t.registry.applicationMetadataKeys('nope'), { code: 'APPLICATION_NOT_FOUND' });
  });
});

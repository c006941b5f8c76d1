import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { startApi } from './harness.js';

const API = '/api/v1';

test('applications and versions: create, list, get, patch, delete', async () => {
  const api = await startApi();
  try {
    const created = await api.call('POST', `${API}/applications`, { name: 'meters', description: 'Smart meters' });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `${API}/applications/meters`);
    assert.equal(created.json.name, 'meters');
    assert.equal(created.json.description, 'Smart meters');

    const names = (await api.call('GET', `${API}/applications`)).json.map((a: { name: string }) => a.name).sort();
    assert.deepEqual(names, ['demo_application', 'meters']);
    assert.equal((await api.call('GET', `${API}/applications/meters`)).json.description, 'Smart meters');
    assert.equal((await api.call('POST', `${API}/applications`, { name: 'meters' })).json.code, 'APPLICATION_CONFLICT');
    const badName = await api.call('POST', `${API}/applications`, { name: 'Bad Name' });
    assert.equal(badName.status, 400);
    assert.equal(badName.json.code, 'NAME_INVALID');

    const version = await api.call('POST', `${API}/applications/meters/versions`, {
      name: 'meters_v1',
      extensions: ['epmx'],
      metadataKeyAccess: { serial: 'read-only' },
    });
    assert.equal(version.status, 201);
    assert.equal(version.headers.get('location'), `${API}/app-versions/meters_v1`);
    assert.equal(version.json.applicationName, 'meters');
    assert.deepEqual(version.json.extensions, ['epmx']);
    assert.deepEqual(version.json.metadataKeyAccess, { serial: 'read-only' });

    const badAccess = await api.call('POST', `${API}/applications/meters/versions`, { name: 'meters_v2', metadataKeyAccess: { serial: 'secret' } });
    assert.equal(badAccess.status, 400);
    assert.match(badAccess.json.message, /body\.metadataKeyAccess\.serial must be one of "read-write", "read-only", "hidden"/);
    assert.equal((await api.call('POST', `${API}/applications/nope/versions`, { name: 'nope_v1' })).status, 404);

    const list = await api.call('GET', `${API}/applications/meters/versions`);
    assert.deepEqual(list.json.map((v: { name: string }) => v.name), ['meters_v1']);
    assert.equal((await api.call('GET', `${API}/app-versions/meters_v1`)).json.name, 'meters_v1');

    const patched = await api.call('PATCH', `${API}/app-versions/meters_v1`, { metadataKeyAccess: { serial: 'hidden' } });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.metadataKeyAccess, { serial: 'hidden' });
    assert.deepEqual(patched.json.extensions, ['epmx']);
    assert.deepEqual((await api.services.applications.getVersion('meters_v1')).metadataKeyAccess, { serial: 'hidden' });
    assert.equal((await api.call('PATCH', `${API}/app-versions/nope`, {})).status, 404);

    // An endpoint in the new version, then deleting the application removes it.
    const endpoint = await api.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'meters_v1' } });
    assert.equal(endpoint.status, 201);
    const del = await api.call('DELETE', `${API}/applications/meters`);
    assert.equal(del.status, 204);
    assert.equal((await api.call('GET', `${API}/applications/meters`)).json.code, 'APPLICATION_NOT_FOUND');
    assert.equal((await api.call('GET', `/epr/api/v1/endpoints/${endpoint.json.endpointId}`)).status, 404);
    assert.equal((await api.call('DELETE', `${API}/applications/meters`)).status, 404);
  } finally {
    await api.close();
  }
});

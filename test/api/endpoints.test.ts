import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createEndpoint, startApi, type ApiHarness } from './harness.js';

const EPR = '/epr/api/v1';

async function withApi(fn: (api: ApiHarness) => Promise<void>): Promise<void> {
  const api = await startApi();
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

test('create returns 201, Location and a usable token; get, include=metadata and delete work', () =>
  withApi(async (api) => {
    const created = await api.call('POST', `${EPR}/endpoints`, {
      appVersion: { name: 'demo_application_v1' },
      metadata: { model: 'A300', floor: 3 },
      endpointId: 'meter-1',
      endpointToken: 'token-meter-1',
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `${EPR}/endpoints/meter-1`);
    assert.equal(created.json.endpointId, 'meter-1');
    assert.equal(created.json.token, 'token-meter-1');
    assert.equal(created.json.status, 'INACTIVE');

    // The token really is registered: the credentials service resolves it.
    const record = await api.services.credentials.resolveToken('demo_application', 'token-meter-1');
    assert.equal(record.endpointId, 'meter-1');

    const plain = await api.call('GET', `${EPR}/endpoints/meter-1`);
    assert.equal(plain.status, 200);
    assert.equal(plain.json.endpointId, 'meter-1');
    assert.equal(plain.json.applicationName, 'demo_application');
    assert.equal(plain.json.appVersion.name, 'demo_application_v1');
    assert.match(plain.json.appVersion.registeredDate, /^\d{4}-\d\d-\d\dT/);
    assert.match(plain.json.createdDate, /^\d{4}-\d\d-\d\dT/);
    assert.equal(plain.json.connected, false);
    assert.equal(plain.json.lastSeen, null);
    // Present (not dropped by the response schema) even before any connection.
    assert.equal(plain.json.lastConnectedDate, null);
    assert.equal(plain.json.lastDisconnectedDate, null);
    assert.equal('metadata' in plain.json, false);

    const withMeta = await api.call('GET', `${EPR}/endpoints/meter-1?include=metadata`);
    assert.deepEqual(withMeta.json.metadata, { model: 'A300', floor: 3 });

    const del = await api.call('DELETE', `${EPR}/endpoints/meter-1`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    const gone = await api.call('GET', `${EPR}/endpoints/meter-1`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.code, 'ENDPOINT_NOT_FOUND');
    assert.equal((await api.call('DELETE', `${EPR}/endpoints/meter-1`)).status, 404);
  }));

test('generated endpoint ID and token; duplicate ID and token are 409', () =>
  withApi(async (api) => {
    const a = await createEndpoint(api);
    assert.match(a.endpointId, /^[0-9a-f-]{36}$/);
    assert.ok(a.token.length >= 16);
    const dupId = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, endpointId: a.endpointId });
    assert.equal(dupId.status, 409);
    assert.equal(dupId.json.code, 'ENDPOINT_CONFLICT');
    const dupToken = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, endpointToken: a.token });
    assert.equal(dupToken.status, 409);
    assert.equal(dupToken.json.code, 'TOKEN_CONFLICT');
  }));

test('list: filters, search, sort, pagination and totalElements', () =>
  withApi(async (api) => {
    const rows = [
      { endpointId: 'e1', metadata: { model: 'A300', serial: 'X-100', floor: 1 } },
      { endpointId: 'e2', metadata: { model: 'B200', serial: 'X-200', floor: 2 } },
      { endpointId: 'e3', metadata: { model: 'A300-pro', floor: 3 } },
      { endpointId: 'e4', metadata: { model: 'C100' } },
      { endpointId: 'e5', metadata: {} },
    ];
    for (const row of rows) await createEndpoint(api, row);
    const ids = (json: { content: Array<{ endpointId: string }> }) => json.content.map((e) => e.endpointId);

    const all = await api.call('GET', `${EPR}/endpoints`);
    assert.equal(all.status, 200);
    assert.equal(all.json.totalElements, 5);
    assert.deepEqual(ids(all.json), ['e1', 'e2', 'e3', 'e4', 'e5']);
    assert.equal('metadata' in all.json.content[0], false);

    const exact = await api.call('GET', `${EPR}/endpoints?metadata.model=A300&include=metadata`);
    assert.deepEqual(ids(exact.json), ['e1']);
    assert.deepEqual(exact.json.content[0].metadata, { model: 'A300', serial: 'X-100', floor: 1 });

    // Values that parse as JSON compare as JSON: floor=2 is the number 2.
    assert.deepEqual(ids((await api.call('GET', `${EPR}/endpoints?metadata.floor=2`)).json), ['e2']);

    const contains = await api.call('GET', `${EPR}/endpoints?filter=model~a300`);
    assert.deepEqual(ids(contains.json), ['e1', 'e3']);
    assert.equal(contains.json.totalElements, 2);

    assert.deepEqual(ids((await api.call('GET', `${EPR}/endpoints?filter=serial`)).json), ['e1', 'e2']);
    assert.deepEqual(ids((await api.call('GET', `${EPR}/endpoints?filter=model~A300&filter=floor=3`)).json), ['e3']);

    const search = await api.call('GET', `${EPR}/endpoints?search=x-2`);
    assert.deepEqual(ids(search.json), ['e2']);

    const some = await api.call('GET', `${EPR}/endpoints?endpointId=e4,e2&endpointId=e5`);
    assert.deepEqual(ids(some.json), ['e2', 'e4', 'e5']);

    assert.deepEqual(ids((await api.call('GET', `${EPR}/endpoints?connected=false&limit=2`)).json), ['e1', 'e2']);
    assert.equal((await api.call('GET', `${EPR}/endpoints?connected=true`)).json.totalElements, 0);

    const sorted = await api.call('GET', `${EPR}/endpoints?sort=metadata.model,desc&filter=model`);
    assert.deepEqual(ids(sorted.json), ['e4', 'e2', 'e3', 'e1']);
    const byId = await api.call('GET', `${EPR}/endpoints?sort=endpointId,desc`);
    assert.deepEqual(ids(byId.json), ['e5', 'e4', 'e3', 'e2', 'e1']);

    const page = await api.call('GET', `${EPR}/endpoints?sort=endpointId,asc&offset=1&limit=2`);
    assert.equal(page.json.totalElements, 5);
    assert.deepEqual(ids(page.json), ['e2', 'e3']);
    const past = await api.call('GET', `${EPR}/endpoints?offset=10`);
    assert.equal(past.json.totalElements, 5);
    assert.deepEqual(past.json.content, []);

    assert.equal((await api.call('GET', `${EPR}/endpoints?applicationName=demo_application`)).json.totalElements, 5);
    assert.equal((await api.call('GET', `${EPR}/endpoints?applicationVersionName=demo_application_v1`)).json.totalElements, 5);
    assert.equal((await api.call('GET', `${EPR}/endpoints?applicationName=other`)).json.totalElements, 0);
  }));

test('list: bad parameters are 400 with a message naming the parameter', () =>
  withApi(async (api) => {
    const cases: Array<[string, string, RegExp]> = [
      ['sort=bogus,asc', 'VALIDATION_FAILED', /query\.sort field "bogus" is unknown; sort by one of endpointId, createdDate/],
      ['sort=createdDate,sideways', 'VALIDATION_FAILED', /query\.sort/],
      ['sort=metadata.bad-key', 'METADATA_KEY_INVALID', /"bad-key"/],
      ['limit=1001', 'VALIDATION_FAILED', /query\.limit must be <= 1000/],
      ['limit=0', 'VALIDATION_FAILED', /query\.limit must be >= 1/],
      ['offset=-1', 'VALIDATION_FAILED', /query\.offset/],
      ['connected=maybe', 'VALIDATION_FAILED', /query\.connected must be boolean/],
      ['include=tokens', 'VALIDATION_FAILED', /query\.include "tokens" is unknown; send include=metadata/],
      ['filter=bad-key~x', 'METADATA_KEY_INVALID', /"bad-key"/],
      ['metadata.bad-key=1', 'METADATA_KEY_INVALID', /"bad-key"/],
    ];
    for (const [qs, code, message] of cases) {
      const res = await api.call('GET', `${EPR}/endpoints?${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(res.json.code, code, qs);
      assert.match(res.json.message, message, qs);
    }
  }));

test('create: validation errors name the field; unknown version is 404', () =>
  withApi(async (api) => {
    const missing = await api.call('POST', `${EPR}/endpoints`, { metadata: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.code, 'VALIDATION_FAILED');
    assert.match(missing.json.message, /body\.appVersion is missing .*"name"/);

    const noName = await api.call('POST', `${EPR}/endpoints`, { appVersion: {} });
    assert.match(noName.json.message, /body\.appVersion\.name is missing/);

    const badKey = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, metadata: { 'bad key': 1 } });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.json.code, 'METADATA_KEY_INVALID');
    assert.match(badKey.json.message, /"bad key"/);

    const badToken = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, endpointToken: 'abc#def' });
    assert.equal(badToken.status, 400);
    assert.equal(badToken.json.code, 'TOKEN_INVALID');
    assert.match(badToken.json.message, /without "\+", "#"/);

    const badId = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, endpointId: 'has space' });
    assert.equal(badId.json.code, 'ENDPOINT_ID_INVALID');

    const wrongType = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, metadata: [1, 2] });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.message, /body\.metadata must be object/);

    const unknown = await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'no_such_version' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.code, 'APP_VERSION_NOT_FOUND');

    assert.equal((await api.call('GET', `${EPR}/endpoints`)).json.totalElements, 0);
  }));

test('an endpoint ID of the longest allowed length (128) is reachable in paths; a longer path segment or a broken percent-encoding is a JSON 414/400', () =>
  withApi(async (api) => {
    // The router's default limit (100 characters per parameter) used to make such an endpoint unfindable after its creation.
    const id = `m${'e'.repeat(127)}`;
    assert.equal((await api.call('POST', `${EPR}/endpoints`, { appVersion: { name: 'demo_application_v1' }, endpointId: id, metadata: { model: 'A300' } })).status, 201);
    assert.equal((await api.call('GET', `${EPR}/endpoints/${id}`)).json.endpointId, id);
    assert.equal((await api.call('GET', `${EPR}/endpoints/${id}/metadata/model`)).status, 200);

    // Over the router's limit: 414, or 404 where the dashboard's catch-all route takes the path instead; in Tether's shape either way.
    for (const path of [`${EPR}/endpoints/${'x'.repeat(1025)}`, `/dashboard/api/applications/${'x'.repeat(1025)}/form`]) {
      const long = await api.call('GET', path);
      assert.ok(long.status === 414 || long.status === 404, `${long.status}`);
      assert.deepEqual(Object.keys(long.json).sort(), ['code', 'message', 'status']);
      assert.equal(long.json.status, long.status);
    }

    for (const broken of ['%E0%A4%A', '%zz']) {
      const reply = await api.call('GET', `${EPR}/endpoints/${broken}`);
      assert.equal(reply.status, 400, broken);
      assert.equal(reply.json.code, 'PATH_INVALID');
      assert.equal(reply.json.status, 400);
    }
  }));

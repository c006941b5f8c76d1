/** Kaa OTAO software versions over REST (/otao/api/v1): CRUD, the errors users cause, the endpoint's state and history. */
import assert from 'node:assert/strict';
import { it } from '../helpers/test.js';
import type { SoftwareRecord } from '../../src/core/software.js';
import { api, connectDevice, startPlatform } from '../control/harness.js';
import { createEndpoint } from '../platform/helpers.js';
import { waitFor } from '../helpers/wait.js';

const BASE = '/otao/api/v1/applications/demo_application/software';
type Problem = { status: number; code: string; message: string };

it('software versions: create (201), list newest first by semver, get, change, delete (204), and the errors users cause', async (t) => {
  const running = await startPlatform(t);

  const created = await api<SoftwareRecord>(running, 'POST', BASE, { version: '1.9.0', upgradableFrom: ['1.8.x', ''], specification: { url: 'a' }, metadata: { notes: 'first' } });
  assert.equal(created.status, 201);
  assert.equal(created.body.rolloutStrategy, 'suspended', 'suspended unless said otherwise');
  assert.deepEqual(created.body.filters, []);
  assert.equal(created.body.package, null);
  assert.equal(created.body.applicationName, 'demo_application');
  assert.ok(created.body.createdDate);
  await api(running, 'POST', BASE, { version: '1.10.0', upgradableFrom: ['1.9.0'], specification: {}, rolloutStrategy: 'general' });
  await api(running, 'POST', BASE, { version: '1.10.0-rc.1', upgradableFrom: ['*'], specification: {} });

  const list = await api<SoftwareRecord[]>(running, 'GET', BASE);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((s) => s.version), ['1.10.0', '1.10.0-rc.1', '1.9.0']);
  assert.deepEqual((await api<SoftwareRecord>(running, 'GET', `${BASE}/1.9.0`)).body, created.body);

  const changed = await api<SoftwareRecord>(running, 'PUT', `${BASE}/1.9.0`, {
    upgradableFrom: ['>=1.0.0 <1.9.0'], specification: { url: 'b' }, rolloutStrategy: 'targeted',
    filters: [{ filterId: 'eu', rolloutDate: '2026-05-01T00:00:00Z', query: { filter: ['region=eu'], search: 'meter' } }],
  });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.createdDate, created.body.createdDate);
  assert.deepEqual(changed.body.filters, [{ filterId: 'eu', rolloutDate: '2026-05-01T00:00:00.000Z', query: { filter: ['region=eu'], search: 'meter' } }]);
  assert.deepEqual(changed.body.metadata, {}, 'PUT replaces: metadata left out is {}');

  const cases: Array<[string, string, unknown, number, string, RegExp]> = [
    ['POST', BASE, { version: '1.9.0', upgradableFrom: [], specification: {} }, 409, 'SOFTWARE_CONFLICT', /already has software version "1.9.0"/],
    ['POST', BASE, { version: 'v2.0.0', upgradableFrom: [], specification: {} }, 400, 'SOFTWARE_INVALID', /not a semantic version/],
    ['POST', BASE, { version: '2.0', upgradableFrom: [], specification: {} }, 400, 'SOFTWARE_INVALID', /not a semantic version/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: ['the old one'], specification: {} }, 400, 'SOFTWARE_INVALID', /upgradableFrom entry "the old one"/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: [], specification: [1, 2] }, 400, 'VALIDATION_FAILED', /specification/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: [], specification: {}, rolloutStrategy: 'everyone' }, 400, 'VALIDATION_FAILED', /rolloutStrategy/],
    ['POST', BASE, { version: '2.0.0', specification: {} }, 400, 'VALIDATION_FAILED', /upgradableFrom/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: [], specification: {}, filters: [{ filterId: 'a', rolloutDate: 'tomorrow' }] }, 400, 'SOFTWARE_INVALID', /rolloutDate "tomorrow"/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: [], specification: {}, filters: [{ filterId: 'a' }, { filterId: 'a' }] }, 400, 'SOFTWARE_INVALID', /used twice/],
    ['POST', BASE, { version: '2.0.0', upgradableFrom: [], specification: {}, filters: [{ filterId: 'a', query: { filter: ['bad key=1'] } }] }, 400, 'METADATA_KEY_INVALID', /bad key/],
    ['POST', '/otao/api/v1/applications/no_such_app/software', { version: '1.0.0', upgradableFrom: [], specification: {} }, 404, 'APPLICATION_NOT_FOUND', /no_such_app/],
    ['GET', '/otao/api/v1/applications/no_such_app/software', undefined, 404, 'APPLICATION_NOT_FOUND', /no_such_app/],
    ['GET', `${BASE}/3.0.0`, undefined, 404, 'SOFTWARE_NOT_FOUND', /no software version "3.0.0"/],
    ['PUT', `${BASE}/3.0.0`, { upgradableFrom: [], specification: {} }, 404, 'SOFTWARE_NOT_FOUND', /GET \/otao\/api\/v1\/applications\/demo_application\/software/],
    ['DELETE', `${BASE}/3.0.0`, undefined, 404, 'SOFTWARE_NOT_FOUND', /3\.0\.0/],
    ['GET', '/otao/api/v1/endpoints/no-such-endpoint/software', undefined, 404, 'ENDPOINT_NOT_FOUND', /no-such-endpoint/],
    ['GET', '/otao/api/v1/endpoints/no-such-endpoint/software/history', undefined, 404, 'ENDPOINT_NOT_FOUND', /no-such-endpoint/],
    ['GET', '/otao/api/v1/no-such-route', undefined, 404, 'NOT_FOUND', /no-such-route/],
  ];
  for (const [method, route, body, status, code, message] of cases) {
    const reply = await api<Problem>(running, method, route, body);
    assert.equal(reply.status, status, `${method} ${route} ${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.code, code, `${method} ${route} ${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`);
    assert.match(reply.body.message, message);
  }

  const removed = await api(running, 'DELETE', `${BASE}/1.9.0`);
  assert.equal(removed.status, 204);
  assert.equal((await api(running, 'GET', `${BASE}/1.9.0`)).status, 404);
  assert.deepEqual((await api<SoftwareRecord[]>(running, 'GET', BASE)).body.map((s) => s.version), ['1.10.0', '1.10.0-rc.1']);
});

it("an endpoint's software: what it runs, its next version, and its report history as a Spring page", async (t) => {
  const running = await startPlatform(t);
  const device = await connectDevice(t, running);
  const path = `/otao/api/v1/endpoints/${device.endpointId}/software`;
  assert.deepEqual((await api(running, 'GET', path)).body, { endpointId: device.endpointId, applicationName: 'demo_application', version: null, reportedAt: null, lastFailure: null, next: null });

  await api(running, 'POST', BASE, { version: '1.1.0', upgradableFrom: ['1.0.0'], specification: {}, rolloutStrategy: 'general' });
  for (const [i, configId] of ['0.9.0', '1.0.0'].entries()) await device.request('cmx_ota', 'applied/json', { configId }, i + 2);
  await device.request('cmx_ota', 'applied/json', { configId: '1.1.0', statusCode: 500, reasonPhrase: 'checksum' }, 4);
  const now = await api<{ version: string; lastFailure: { version: string; statusCode: number; reasonPhrase: string }; next: unknown }>(running, 'GET', path);
  assert.equal(now.body.version, '1.0.0');
  assert.deepEqual([now.body.lastFailure.version, now.body.lastFailure.statusCode, now.body.lastFailure.reasonPhrase], ['1.1.0', 500, 'checksum']);
  assert.equal(now.body.next, null, 'not offered again by strategy right after it failed');

  // The Endpoint List's "Software version" column: include=software, on the list and on one endpoint.
  const other = await connectDevice(t, running);
  const listed = await api<{ content: Array<{ endpointId: string; softwareVersion?: string | null; metadata?: unknown }> }>(
    running, 'GET', '/epr/api/v1/endpoints?applicationName=demo_application&include=metadata,software&sort=endpointId',
  );
  assert.equal(listed.status, 200);
  const versions = new Map(listed.body.content.map((e) => [e.endpointId, e.softwareVersion]));
  assert.deepEqual([versions.get(device.endpointId), versions.get(other.endpointId)], ['1.0.0', null]);
  assert.ok(listed.body.content.every((e) => e.metadata !== undefined));
  const plain = await api<{ content: Array<Record<string, unknown>> }>(running, 'GET', '/epr/api/v1/endpoints?applicationName=demo_application');
  assert.ok(plain.body.content.every((e) => !('softwareVersion' in e)), 'only when asked for');
  assert.equal((await api<{ softwareVersion: string }>(running, 'GET', `/epr/api/v1/endpoints/${device.endpointId}?include=software`)).body.softwareVersion, '1.0.0');

  const page = await api<Record<string, unknown>>(running, 'GET', `${path}/history?offset=1&limit=1`);
  assert.equal(page.status, 200);
  assert.deepEqual({ ...page.body, content: (page.body['content'] as Array<{ version: string }>).map((c) => c.version) }, {
    content: ['1.0.0'], totalElements: 3, totalPages: 3, number: 1, size: 1, numberOfElements: 1, first: false, last: false, empty: false,
  });
  assert.equal((await api<Problem>(running, 'GET', `${path}/history?limit=0`)).body.code, 'VALIDATION_FAILED');

  // Deleting the endpoint removes its software state.
  assert.equal((await api(running, 'DELETE', `/epr/api/v1/endpoints/${device.endpointId}`)).status, 204);
  await waitFor('the software state of the deleted endpoint to go', () => running.software.store.getEndpointSoftware(device.endpointId), { until: (s) => s === undefined });
});

it('the Endpoint List sorts by software version: semver order, other strings after, endpoints without one last; paged', async (t) => {
  const running = await startPlatform(t);
  const reports: Array<[string, string | null]> = [['a', '1.10.0'], ['b', '1.9.0'], ['c', null], ['d', 'legacy-7'], ['e', '1.10.0-rc.1'], ['f', '1.9.0']];
  for (const [id, version] of reports) {
    const endpoint = await createEndpoint(running, { endpointId: `sw-${id}` });
    if (version !== null) await running.software.service.report({ endpointId: endpoint.endpointId, applicationName: 'demo_application', appVersionName: 'demo_application_v1', version, statusCode: 200, reasonPhrase: null });
  }
  const list = async (query: string) => {
    const reply = await api<{ totalElements: number; content: Array<{ endpointId: string; softwareVersion?: string | null }> }>(running, 'GET', `/epr/api/v1/endpoints?applicationName=demo_application&${query}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body;
  };
  const asc = await list('sort=softwareVersion,asc&include=software&limit=100');
  assert.deepEqual(asc.content.map((e) => e.endpointId), ['sw-b', 'sw-f', 'sw-e', 'sw-a', 'sw-d', 'sw-c']);
  assert.deepEqual(asc.content.map((e) => e.softwareVersion), ['1.9.0', '1.9.0', '1.10.0-rc.1', '1.10.0', 'legacy-7', null]);
  const desc = await list('sort=softwareVersion,desc&offset=1&limit=3');
  assert.equal(desc.totalElements, 6);
  // Reversed, except that endpoints without a version stay last: legacy-7, 1.10.0, 1.10.0-rc.1, 1.9.0, …
  assert.deepEqual(desc.content.map((e) => e.endpointId), ['sw-a', 'sw-e', 'sw-b']);
  assert.ok(desc.content.every((e) => !('softwareVersion' in e)), 'the version is shown only with include=software');
  assert.deepEqual((await list('sort=softwareVersion&filter=nothing&limit=5')).content, []);
  const malformed = await api<Problem>(running, 'GET', '/epr/api/v1/endpoints?applicationName=demo_application&sort=softwareVersion,up');
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.message, /send sort=softwareVersion,asc or sort=softwareVersion,desc/);
});

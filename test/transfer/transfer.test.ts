/** Export, import and bulk actions over the real HTTP server and real SQLite. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { parse } from 'csv-parse/sync';
import type { JsonValue } from '../../src/core/types.js';
import { decodeCell, encodeCell } from '../../src/transfer/cells.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { http } from '../accounts/helpers.js';
import { tempDir } from '../helpers/tmp.js';

/** Values that break naive CSV or lose their type: numbers as text, JSON-looking strings, quotes, commas, newlines. */
const AWKWARD: Array<Record<string, unknown>> = [
  { model: 'A300', serial: 42, enabled: true, nothing: null, tags: ['a', 'b'], pos: { lat: 52.1, lon: 4.3 } },
  { model: '42', serial: 'true', note: 'comma, "quoted" and\nnewline', empty: '', spaced: ' 7 ' },
  { model: 'Zähler ✓', note: '{"not": "an object"}', brace: '{', quote: '"' },
  {},
];

test('cells: every JSON value survives encode then decode with its type', () => {
  const values: JsonValue[] = ['', '42', 'true', 'null', ' 7 ', '"', '{', 'plain', 42, 0, -1.5, true, false, null, [], {}, [1, 'x'], { a: { b: 'c' } }];
  for (const value of values) {
    assert.deepEqual(decodeCell(encodeCell(value)), value, JSON.stringify(value));
  }
  assert.equal(decodeCell(encodeCell(undefined)), undefined);
});

test('CSV round trip: export, import into a fresh instance, same endpoints and metadata; JSON export too', async (t) => {
  const a = await start(t, await testConfig(tempDir(t)));
  const ids: string[] = [];
  for (const [i, metadata] of AWKWARD.entries()) ids.push((await createEndpoint(a, { endpointId: `meter-${i}`, metadata })).endpointId);

  const csv = await http(a, 'GET', '/api/v1/endpoints/export?applicationName=demo_application', a.adminApiKey);
  assert.equal(csv.status, 200, csv.text);
  assert.match(String(csv.headers.get('content-type')), /^text\/csv/);
  assert.match(String(csv.headers.get('content-disposition')), /attachment; filename="demo_application-endpoints.csv"/);
  const rows = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
  assert.deepEqual(rows.map((r) => r.endpointId), ids);
  assert.deepEqual(Object.keys(rows[0]!).slice(0, 5), ['endpointId', 'appVersion', 'createdDate', 'connected', 'lastSeen']);
  assert.equal(rows[1]!['metadata.model'], '"42"', 'a string that reads as JSON is JSON-quoted');
  assert.equal(rows[0]!['metadata.serial'], '42');

  const json = await http(a, 'GET', '/api/v1/endpoints/export?applicationName=demo_application&format=json', a.adminApiKey);
  assert.deepEqual(json.json.map((e: { metadata: unknown }) => e.metadata), AWKWARD);

  // Filters apply as in the list.
  const filtered = await http(a, 'GET', '/api/v1/endpoints/export?applicationName=demo_application&format=json&search=z%C3%A4hler', a.adminApiKey);
  assert.deepEqual(filtered.json.map((e: { endpointId: string }) => e.endpointId), ['meter-2']);

  const b = await start(t, await testConfig(tempDir(t)));
  const imported = await http(b, 'POST', '/api/v1/endpoints/import', b.adminApiKey, csv.text, 'text/csv');
  assert.equal(imported.status, 200, imported.text);
  assert.equal(imported.json.created, AWKWARD.length);
  assert.deepEqual(imported.json.failed, []);
  assert.deepEqual(imported.json.tokens.map((x: { endpointId: string }) => x.endpointId), ids);
  const again = await http(b, 'GET', '/api/v1/endpoints/export?applicationName=demo_application&format=json', b.adminApiKey);
  assert.deepEqual(
    again.json.map((e: { endpointId: string; metadata: unknown; appVersion: string }) => [e.endpointId, e.appVersion, e.metadata]),
    json.json.map((e: { endpointId: string; metadata: unknown; appVersion: string }) => [e.endpointId, e.appVersion, e.metadata]),
  );
  // The tokens handed out work: each is the endpoint's token in B.
  const resolved = await b.services.credentials.resolveToken('demo_application', imported.json.tokens[0].token);
  assert.equal(resolved.endpointId, 'meter-0');

  // The import is one audit entry with its counts, and each endpoint's own trail starts with it.
  const audit = (await http(b, 'GET', '/api/v1/audit?action=endpoints.import', b.adminApiKey)).json.content;
  assert.equal(audit.length, 1);
  assert.deepEqual(audit[0].after, { created: AWKWARD.length, failed: 0 });
  const perEndpoint = (await http(b, 'GET', '/api/v1/audit?action=endpoint.import&limit=100', b.adminApiKey)).json.content;
  assert.deepEqual(perEndpoint.map((e: { endpointId: string }) => e.endpointId).reverse(), ids);
  const own = (await http(b, 'GET', `/api/v1/audit?endpointId=${ids[1]}`, b.adminApiKey)).json.content;
  assert.equal(own.length, 1);
  assert.equal(own[0].action, 'endpoint.import');
  assert.deepEqual(own[0].after, { appVersion: 'demo_application_v1', metadata: json.json[1].metadata });
  assert.equal(own[0].actor.name, 'bootstrap');
});

test('import: supplied tokens, appVersion from the query, failing rows reported, tokens once as CSV; viewers cannot import', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const key = running.adminApiKey;
  await createEndpoint(running, { endpointId: 'taken' });
  const body = ['endpointId,token,metadata.model', 'new-1,secret-token-1,A300', 'taken,,A400', ',,"""quoted"""', 'bad id!,,x'].join('\n');
  const res = await http(running, 'POST', '/api/v1/endpoints/import?appVersion=demo_application_v1&format=csv', key, body, 'text/csv');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const rows = parse(res.text, { columns: true }) as Array<{ line: string; endpointId: string; token: string; error: string }>;
  assert.deepEqual(rows.map((r) => [r.line, r.error.split(':')[0]]), [['2', ''], ['3', 'ENDPOINT_CONFLICT'], ['4', ''], ['5', 'ENDPOINT_ID_INVALID']]);
  assert.equal(rows[0]!.token, 'secret-token-1');
  assert.ok(rows[2]!.token.length > 16 && rows[2]!.endpointId.length > 0, 'generated ID and token');
  // The cell reads "quoted" (with the quotes): JSON for the string quoted.
  assert.deepEqual((await running.services.registry.getEndpoint(rows[2]!.endpointId, true)).metadata, { model: 'quoted' });

  assert.equal((await http(running, 'POST', '/api/v1/endpoints/import', key, 'endpointId\nx', 'text/csv')).json.code, 'VALIDATION_FAILED');
  const viewer = (await running.accounts.apiKeys.create({ name: 'v', role: 'viewer', createdBy: 't' })).key;
  assert.equal((await http(running, 'POST', '/api/v1/endpoints/import?appVersion=demo_application_v1', viewer, 'endpointId\nx', 'text/csv')).status, 403);
  assert.equal((await http(running, 'GET', '/api/v1/endpoints/export?applicationName=demo_application', viewer)).status, 200, 'viewers may export');
  assert.equal((await http(running, 'GET', '/api/v1/endpoints/export?applicationName=nope', key)).json.code, 'APPLICATION_NOT_FOUND');
});

test('bulk actions: set and delete a metadata key, suspend and revoke tokens, delete; each endpoint audited; failures listed', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const key = running.adminApiKey;
  const ids = ['b1', 'b2', 'b3'];
  for (const id of ids) await createEndpoint(running, { endpointId: id, metadata: { model: 'A300' } });
  const bulk = (body: unknown) => http(running, 'POST', '/api/v1/endpoints/bulk', key, body);

  const set = await bulk({ action: 'set-metadata', endpointIds: [...ids, 'missing'], key: 'site', value: { floor: 2 } });
  assert.equal(set.json.succeeded, 3);
  assert.deepEqual(set.json.failed.map((f: { endpointId: string; code: string }) => [f.endpointId, f.code]), [['missing', 'ENDPOINT_NOT_FOUND']]);
  for (const id of ids) assert.deepEqual((await running.services.registry.getEndpoint(id, true)).metadata, { model: 'A300', site: { floor: 2 } });

  assert.equal((await bulk({ action: 'delete-metadata-key', endpointIds: ['b1'], key: 'model' })).json.succeeded, 1);
  assert.deepEqual((await running.services.registry.getEndpoint('b1', true)).metadata, { site: { floor: 2 } });

  assert.equal((await bulk({ action: 'suspend-tokens', endpointIds: ['b1', 'b2'] })).json.succeeded, 2);
  assert.equal((await running.services.credentials.listTokens('b1'))[0]!.status, 'SUSPENDED');
  assert.equal((await bulk({ action: 'revoke-tokens', endpointIds: ['b2'] })).json.succeeded, 1);
  assert.equal((await running.services.credentials.listTokens('b2'))[0]!.status, 'REVOKED');
  assert.equal((await running.services.credentials.listTokens('b3'))[0]!.status, 'INACTIVE');

  assert.equal((await bulk({ action: 'delete', endpointIds: ['b3'] })).json.succeeded, 1);
  await assert.rejects(running.services.registry.getEndpoint('b3', false), /does not exist/);

  assert.equal((await bulk({ action: 'set-metadata', endpointIds: ['b1'] })).json.code, 'VALIDATION_FAILED');
  assert.equal((await bulk({ action: 'explode', endpointIds: ['b1'] })).status, 400);
  assert.equal((await bulk({ action: 'delete', endpointIds: [] })).status, 400);

  const audit = (await http(running, 'GET', '/api/v1/audit?endpointId=b1', key)).json.content;
  assert.deepEqual(audit.map((e: { action: string }) => e.action).reverse(), ['endpoint.create', 'bulk.set-metadata', 'bulk.delete-metadata-key', 'bulk.suspend-tokens']);
  const suspended = audit[0];
  assert.equal(suspended.before.tokens[0].status, 'INACTIVE');
  assert.equal(suspended.after.tokens[0].status, 'SUSPENDED');
  const deleted = (await http(running, 'GET', '/api/v1/audit?endpointId=b3&action=bulk.delete', key)).json.content[0];
  assert.deepEqual(deleted.before.metadata, { model: 'A300', site: { floor: 2 } });
  assert.equal(deleted.after, null);

  const operator = (await running.accounts.apiKeys.create({ name: 'o', role: 'operator', createdBy: 't' })).key;
  const viewer = (await running.accounts.apiKeys.create({ name: 'v', role: 'viewer', createdBy: 't' })).key;
  assert.equal((await http(running, 'POST', '/api/v1/endpoints/bulk', operator, { action: 'delete', endpointIds: ['b1'] })).status, 200);
  assert.equal((await http(running, 'POST', '/api/v1/endpoints/bulk', viewer, { action: 'delete', endpointIds: ['b2'] })).status, 403);
});

test('API reference: Swagger UI from the package at /api/docs, public', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const page = await http(running, 'GET', '/api/docs/', '');
  assert.equal(page.status, 200);
  assert.match(page.text, /swagger/i);
  assert.doesNotMatch(page.text, /https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/, 'no assets from elsewhere');
  const script = await http(running, 'GET', '/api/docs/static/swagger-ui-bundle.js', '');
  assert.equal(script.status, 200);
  const doc = await http(running, 'GET', '/api/docs/json', '');
  assert.ok(doc.json.paths['/api/v1/users']);
});

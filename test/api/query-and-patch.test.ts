import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { parseFilter, parseSort, toEndpointQuery } from '../../src/api/endpoint-query.js';
import { applyJsonPatch, applyMergePatch, mergePatch } from '../../src/api/metadata-patch.js';
import { fieldName } from '../../src/api/validation.js';

test('query parameters become a structured EndpointQuery', () => {
  assert.deepEqual(
    toEndpointQuery({
      applicationName: 'app',
      applicationVersionName: 'app_v1',
      endpointId: ['a,b', ' c '],
      connected: true,
      search: 'x',
      searchKeys: ['model,serial'],
      filter: ['model~A300', 'floor=3', 'serial'],
      'metadata.kind': ['"3"', 'meter'],
      sort: 'metadata.model,DESC',
      include: ['metadata'],
      offset: 5,
      limit: 50,
    }),
    {
      applicationName: 'app',
      appVersionName: 'app_v1',
      endpointIds: ['a', 'b', 'c'],
      connected: true,
      search: 'x',
      searchKeys: ['model', 'serial'],
      metadataFilters: [
        { key: 'model', op: 'contains', value: 'A300' },
        { key: 'floor', op: 'eq', value: 3 },
        { key: 'serial', op: 'exists' },
        { key: 'kind', op: 'eq', value: '3' },
        { key: 'kind', op: 'eq', value: 'meter' },
      ],
      sort: { field: 'metadata.model', direction: 'desc' },
      offset: 5,
      limit: 50,
      includeMetadata: true,
    },
  );
  assert.deepEqual(toEndpointQuery({}), { offset: 0, limit: 20, includeMetadata: false, sort: { field: 'createdDate', direction: 'asc' } });
});

test('sort and filter expressions are checked against fixed fields and the key pattern', () => {
  assert.deepEqual(parseSort('lastSeen'), { field: 'lastSeen', direction: 'asc' });
  assert.throws(() => parseSort('tokenHash,asc'), { code: 'VALIDATION_FAILED' });
  assert.throws(() => parseSort("metadata.x';drop table endpoints;--"), { code: 'METADATA_KEY_INVALID' });
  assert.throws(() => parseSort('createdDate,asc,extra'), { code: 'VALIDATION_FAILED' });
  assert.deepEqual(parseFilter('note=a=b'), { key: 'note', op: 'eq', value: 'a=b' });
  assert.deepEqual(parseFilter('note~'), { key: 'note', op: 'contains', value: '' });
  assert.throws(() => parseFilter('a b~x'), { code: 'METADATA_KEY_INVALID' });
});

test('JSON Patch and merge patch produce a new object and never touch prototypes', () => {
  const current = { model: 'A300', nested: { a: 1 } };
  const next = applyJsonPatch(current, [{ op: 'replace', path: '/nested/a', value: 2 }]);
  assert.deepEqual(next, { model: 'A300', nested: { a: 2 } });
  assert.deepEqual(current, { model: 'A300', nested: { a: 1 } }, 'input left unchanged');
  assert.throws(() => applyJsonPatch(current, [{ op: 'add', path: '/__proto__/polluted', value: 1 }]));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);

  const poisoned = JSON.parse('{"__proto__": {"polluted": 1}}');
  const merged = mergePatch({}, poisoned) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.equal((merged as { polluted?: number }).polluted, undefined);
  // "__proto__" matches the 10/EPMP key pattern; it stays an ordinary own member.
  assert.deepEqual(Object.keys(applyMergePatch({}, poisoned)), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => applyMergePatch({}, [1]), { code: 'PAYLOAD_INVALID' });
});

test('validation field names read like the request', () => {
  assert.equal(fieldName('body', '/appVersion/name'), 'body.appVersion.name');
  assert.equal(fieldName('body', '/0/op'), 'body[0].op');
  assert.equal(fieldName('querystring', '', 'limit'), 'query.limit');
  assert.equal(fieldName('params', '/key'), 'path.key');
});

import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../src/core/log.js';
import { API_KEY, startApi } from './harness.js';

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function assertSecurityHeaders(headers: Headers, what: string): void {
  for (const [name, value] of Object.entries(SECURITY)) assert.equal(headers.get(name), value, `${name} on ${what}`);
}

function recordingLogger(lines: Array<{ level: string; obj: object; msg?: string }>): Logger {
  const logger: Logger = {
    debug: (obj, msg) => void lines.push({ level: 'debug', obj, ...(msg !== undefined && { msg }) }),
    info: (obj, msg) => void lines.push({ level: 'info', obj, ...(msg !== undefined && { msg }) }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, ...(msg !== undefined && { msg }) }),
    error: (obj, msg) => void lines.push({ level: 'error', obj, ...(msg !== undefined && { msg }) }),
    child: () => logger,
  };
  return logger;
}

test('auth: missing or wrong key is 401 on every API prefix; the right key passes', async () => {
  const api = await startApi();
  try {
    for (const path of ['/epr/api/v1/endpoints', '/cm/api/v1/endpoints/x/tokens', '/api/v1/applications', '/api/v1/no-such-route']) {
      for (const authorization of ['', 'Bearer wrong', `Basic ${API_KEY}`, `Bearer ${API_KEY}x`, 'Bearer ']) {
        const res = await api.call('GET', path, undefined, { authorization });
        assert.equal(res.status, 401, `${path} with ${JSON.stringify(authorization)}`);
        // One message per cause (issue 18): no credentials, or a key this server does not know.
        const sentKey = /^Bearer \S/.test(authorization);
        assert.deepEqual(res.json, sentKey
          ? {
              status: 401,
              code: 'API_KEY_INVALID',
              message: 'The API key sent in "Authorization: Bearer …" is not a key of this server (mistyped, cut short, or from another server or data directory). Send the admin API key (<data-dir>/admin-api-key) or a named key of this server.',
            }
          : {
              status: 401,
              code: 'UNAUTHORIZED',
              message: 'Authentication required. Send "Authorization: Bearer <API key>" (the admin API key or a named key) or sign in to the dashboard.',
            });
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        assertSecurityHeaders(res.headers, `401 ${path}`);
      }
    }
    // Unauthenticated writes never reach the services.
    const write = await api.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' } }, { authorization: 'Bearer nope' });
    assert.equal(write.status, 401);
    assert.equal((await api.services.registry.listEndpoints({ offset: 0, limit: 10, includeMetadata: false })).totalElements, 0);

    const ok = await api.call('GET', '/api/v1/applications', undefined, { authorization: `bearer ${API_KEY}` });
    assert.equal(ok.status, 200);
    assertSecurityHeaders(ok.headers, '200');
  } finally {
    await api.close();
  }
});

test('sessionVerifier and plugins: the dashboard seam', async () => {
  const seen: string[] = [];
  const dashboard = async (app: FastifyInstance) => {
    // Every route states who may call it (src/access/rules.ts); these are public pages.
    app.get('/signin', { config: { access: 'public' } }, async () => ({ page: 'sign-in' }));
    // A catch-all (like an SPA fallback) must not swallow unknown API routes.
    app.get('/*', async (_request, reply) => reply.type('text/html').send('<html>spa</html>'));
    app.get('/boom', { config: { access: 'public' } }, async () => {
      throw new Error('secret internal detail');
    });
  };
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const api = await startApi({
    api: {
      plugins: [dashboard],
      logger: recordingLogger(lines),
      sessionVerifier: (request) => {
        seen.push(request.url);
        return request.headers.cookie === 'session=good';
      },
    },
  });
  try {
    const page = await api.call('GET', '/signin', undefined, { authorization: '' });
    assert.equal(page.status, 200);
    assert.deepEqual(page.json, { page: 'sign-in' });
    assertSecurityHeaders(page.headers, 'plugin route');

    const spa = await api.call('GET', '/devices/123', undefined, { authorization: '' });
    assert.equal(spa.text, '<html>spa</html>');

    const withSession = await api.call('GET', '/api/v1/applications', undefined, { authorization: '', cookie: 'session=good' });
    assert.equal(withSession.status, 200);
    const badSession = await api.call('GET', '/api/v1/applications', undefined, { authorization: '', cookie: 'session=bad' });
    assert.equal(badSession.status, 401);
    assert.ok(seen.includes('/api/v1/applications'));

    const unknownApi = await api.call('GET', '/epr/api/v1/nothing-here');
    assert.equal(unknownApi.status, 404);
    assert.equal(unknownApi.json.code, 'NOT_FOUND');

    const boom = await api.call('GET', '/boom', undefined, { authorization: '' });
    assert.equal(boom.status, 500);
    assert.equal(boom.json.code, 'INTERNAL');
    assert.doesNotMatch(boom.text, /secret internal detail|at .*\.js/);
    const errorsLogged = lines.filter((l) => l.level === 'error');
    assert.equal(errorsLogged.length, 1);
    assert.match(String((errorsLogged[0]?.obj as { err?: Error }).err?.message), /secret internal detail/);
  } finally {
    await api.close();
  }
});

test('errors: unknown route 404, malformed JSON 400, body too large 413, prototype poisoning 400', async () => {
  const api = await startApi({ api: { bodyLimit: 1024 } });
  try {
    const notFound = await api.call('GET', '/nowhere', undefined, { authorization: '' });
    assert.equal(notFound.status, 404);
    assert.deepEqual(notFound.json, { status: 404, code: 'NOT_FOUND', message: 'Route GET /nowhere does not exist. Check the path; the REST API is listed at /api/docs.' });
    assertSecurityHeaders(notFound.headers, '404');

    const malformed = await api.call('POST', '/epr/api/v1/endpoints', '{"appVersion":', { 'content-type': 'application/json' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.code, 'PAYLOAD_NOT_JSON');

    const large = await api.call('PUT', '/epr/api/v1/endpoints/x/metadata', { blob: 'x'.repeat(2000) });
    assert.equal(large.status, 413);
    assert.equal(large.json.code, 'PAYLOAD_TOO_LARGE');
    assert.match(large.json.message, /1024 bytes/);

    const poisoned = await api.call('POST', '/epr/api/v1/endpoints', '{"appVersion":{"name":"demo_application_v1"},"__proto__":{"x":1}}', {
      'content-type': 'application/json',
    });
    assert.equal(poisoned.status, 400);
    assert.match(poisoned.json.message, /__proto__/);

    const wrongType = await api.call('POST', '/api/v1/applications', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.json.code, 'UNSUPPORTED_MEDIA_TYPE');
    for (const res of [malformed, large, poisoned, wrongType]) {
      assert.deepEqual(Object.keys(res.json).sort(), ['code', 'message', 'status']);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    }
  } finally {
    await api.close();
  }
});

test('OpenAPI document is served without auth and describes every route', async () => {
  const api = await startApi();
  try {
    const res = await api.call('GET', '/api/openapi.json', undefined, { authorization: '' });
    assert.equal(res.status, 200);
    assertSecurityHeaders(res.headers, 'openapi');
    const doc = res.json;
    assert.match(doc.openapi, /^3\./);
    const expected: Record<string, string[]> = {
      '/epr/api/v1/endpoints': ['get', 'post'],
      '/epr/api/v1/endpoints/{endpointId}': ['delete', 'get'],
      '/epr/api/v1/endpoints/{endpointId}/metadata': ['get', 'patch', 'put'],
      '/epr/api/v1/endpoints/{endpointId}/metadata/{key}': ['delete', 'get', 'put'],
      '/epr/api/v1/endpoints/{endpointId}/metadata-keys': ['get'],
      '/epr/api/v1/applications/{applicationName}/metadata-keys': ['get'],
      '/cm/api/v1/endpoints/{endpointId}/tokens': ['get', 'post'],
      '/cm/api/v1/endpoints/{endpointId}/tokens/{tokenId}/suspend': ['post'],
      '/cm/api/v1/endpoints/{endpointId}/tokens/{tokenId}/reactivate': ['post'],
      '/cm/api/v1/endpoints/{endpointId}/tokens/{tokenId}/revoke': ['post'],
      '/api/v1/applications': ['get', 'post'],
      '/api/v1/applications/{applicationName}': ['delete', 'get'],
      '/api/v1/applications/{applicationName}/versions': ['get', 'post'],
      '/api/v1/app-versions/{versionName}': ['get', 'patch'],
      '/api/v1/users': ['get', 'post'],
      '/api/v1/users/{username}': ['delete', 'get'],
      '/api/v1/users/{username}/role': ['put'],
      '/api/v1/users/{username}/password': ['put'],
      '/api/v1/me/password': ['put'],
      '/api/v1/sign-in-throttles': ['delete', 'get'],
      '/api/v1/api-keys': ['get', 'post'],
      '/api/v1/api-keys/{keyId}': ['delete'],
      '/api/v1/audit': ['get'],
      '/api/v1/endpoints/{endpointId}/metadata-history': ['get'],
      '/api/v1/endpoints/export': ['get'],
      '/api/v1/endpoints/import': ['post'],
      '/api/v1/endpoints/bulk': ['post'],
    };
    assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(expected).sort());
    for (const [path, methods] of Object.entries(expected)) {
      assert.deepEqual(Object.keys(doc.paths[path]).sort(), methods, path);
    }
    const list = doc.paths['/epr/api/v1/endpoints'].get;
    const params = list.parameters.map((p: { name: string }) => p.name);
    for (const name of ['applicationName', 'applicationVersionName', 'endpointId', 'offset', 'limit', 'include', 'filter', 'sort', 'search', 'connected']) {
      assert.ok(params.includes(name), name);
    }
    assert.ok(doc.components.schemas.Endpoint);
    assert.ok(doc.components.schemas.Error);
    assert.deepEqual(Object.keys(doc.paths['/epr/api/v1/endpoints/{endpointId}/metadata'].patch.requestBody.content).sort(), [
      'application/json-patch+json',
      'application/merge-patch+json',
    ]);
    assert.deepEqual(doc.security, [{ adminApiKey: [] }]);
  } finally {
    await api.close();
  }
});

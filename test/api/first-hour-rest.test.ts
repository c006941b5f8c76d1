/** Issue 18's REST traps: one message per credential mistake, and REST errors in REST words. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { tempDir } from '../helpers/tmp.js';
import { httpCall } from '../helpers/http.js';
import { api, start, testConfig } from '../platform/helpers.js';

test('a mistyped or revoked API key is told apart from no key at all', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const none = await httpCall(running, 'GET', '/epr/api/v1/endpoints');
  assert.equal(none.status, 401);
  assert.equal((none.json as { code: string }).code, 'UNAUTHORIZED');

  const typo = await httpCall(running, 'GET', '/epr/api/v1/endpoints', { auth: `${running.adminApiKey}x` });
  assert.equal(typo.status, 401);
  assert.equal((typo.json as { code: string }).code, 'API_KEY_INVALID');
  assert.match((typo.json as { message: string }).message, /is not a key of this server/);

  const created = await api<{ keyId: string; key: string }>(running, 'POST', '/api/v1/api-keys', { name: 'ci', role: 'viewer' });
  assert.equal(created.status, 201);
  assert.equal((await api(running, 'DELETE', `/api/v1/api-keys/${created.body.keyId}`)).status, 200);
  const revoked = await httpCall(running, 'GET', '/epr/api/v1/endpoints', { auth: created.body.key });
  assert.equal(revoked.status, 401);
  assert.equal((revoked.json as { code: string }).code, 'API_KEY_REVOKED');
  assert.match((revoked.json as { message: string }).message, /^The API key "ci" was revoked on \d{4}-/);
});

test('a REST call with a trailing comma or an unknown application version is answered in REST words', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const comma = await httpCall(running, 'POST', '/epr/api/v1/endpoints', { auth: running.adminApiKey, body: '{"appVersion": {"name": "demo_application_v1"},}', contentType: 'application/json' });
  assert.equal(comma.status, 400);
  const message = (comma.json as { message: string }).message;
  assert.match(message, /a trailing comma before "}" \(JSON allows none\) at line 1, column 48/);
  assert.doesNotMatch(message, /__proto__/);

  const unknown = await api<{ code: string; message: string }>(running, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v9' } });
  assert.equal(unknown.body.code, 'APP_VERSION_NOT_FOUND');
  assert.doesNotMatch(unknown.body.message, /topic/i);
});

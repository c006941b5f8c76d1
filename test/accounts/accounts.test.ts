/** Users, roles, API keys and the audit log over the real HTTP server and real SQLite. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { http, signIn } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const ADMIN_PASSWORD = 'admin-password-1';

// Longer than the 30 s default: a dozen scrypt password hashes (deliberately slow) on a shared machine.
test('users: create with a role, role changes apply at once, password resets end sessions, the last admin stays', { timeout: 90_000 }, async (t) => {
  const running = await start(t, await testConfig(tempDir(t), [], { TETHER_ADMIN_PASSWORD: ADMIN_PASSWORD }));
  const key = running.adminApiKey;

  const created = await http(running, 'POST', '/api/v1/users', key, { username: 'olga', role: 'viewer', password: 'olga-password-1' });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(Object.keys(created.json).sort(), ['createdDate', 'lastSignInDate', 'passwordChangedDate', 'role', 'username']);
  assert.equal((await http(running, 'POST', '/api/v1/users', key, { username: 'olga', role: 'viewer', password: 'olga-password-1' })).json.code, 'USER_CONFLICT');
  assert.equal((await http(running, 'POST', '/api/v1/users', key, { username: 'Bad Name', role: 'viewer', password: 'long-enough' })).json.code, 'USERNAME_INVALID');
  assert.equal((await http(running, 'POST', '/api/v1/users', key, { username: 'short', role: 'viewer', password: 'short' })).json.code, 'PASSWORD_INVALID');

  const olga = await signIn(running, 'olga', 'olga-password-1');
  assert.deepEqual((await http(running, 'GET', '/dashboard/api/me', olga)).json, { signedIn: true, username: 'olga', role: 'viewer' });
  const write = await http(running, 'POST', '/epr/api/v1/endpoints', olga, { appVersion: { name: 'demo_application_v1' } });
  assert.equal(write.status, 403);
  assert.equal(write.json.code, 'FORBIDDEN');
  assert.match(write.json.message, /needs the operator role; user "olga" has the viewer role/);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', olga)).status, 200);

  // The role is read on every request: promotion works without signing in again.
  assert.equal((await http(running, 'PUT', '/api/v1/users/olga/role', key, { role: 'operator' })).json.role, 'operator');
  assert.equal((await http(running, 'POST', '/epr/api/v1/endpoints', olga, { appVersion: { name: 'demo_application_v1' } })).status, 201);
  assert.equal((await http(running, 'GET', '/api/v1/users', olga)).status, 403, 'operators do not manage users');

  // A reset ends the user's sessions; the new password works.
  const second = await signIn(running, 'olga', 'olga-password-1');
  assert.equal((await http(running, 'PUT', '/api/v1/users/olga/password', key, { password: 'olga-password-2' })).status, 200);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', olga)).status, 401);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', second)).status, 401);
  assert.equal((await http(running, 'POST', '/dashboard/api/sign-in', '', { username: 'olga', password: 'olga-password-1' })).status, 401);
  const third = await signIn(running, 'olga', 'olga-password-2');

  // Changing your own password keeps you signed in (new cookie) and ends your other sessions.
  const fourth = await signIn(running, 'olga', 'olga-password-2');
  const wrong = await http(running, 'PUT', '/api/v1/me/password', third, { currentPassword: 'nope-nope', password: 'olga-password-3' });
  assert.equal(wrong.json.code, 'PASSWORD_WRONG');
  const own = await http(running, 'PUT', '/api/v1/me/password', third, { currentPassword: 'olga-password-2', password: 'olga-password-3' });
  assert.equal(own.status, 204, own.text);
  const renewed = `cookie=${String(own.headers.get('set-cookie')).split(';')[0]}`;
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', renewed)).status, 200);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', fourth)).status, 401);

  // There is always an admin.
  assert.equal((await http(running, 'PUT', '/api/v1/users/admin/role', key, { role: 'viewer' })).json.code, 'LAST_ADMIN');
  assert.equal((await http(running, 'DELETE', '/api/v1/users/admin', key)).json.code, 'LAST_ADMIN');
  assert.equal((await http(running, 'DELETE', '/api/v1/users/olga', key)).status, 204);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', renewed)).status, 401, 'a deleted user is signed out');
  assert.equal((await http(running, 'GET', '/api/v1/users/olga', key)).json.code, 'USER_NOT_FOUND');
  assert.deepEqual((await http(running, 'GET', '/api/v1/users', key)).json.map((u: { username: string }) => u.username), ['admin']);
});

test('API keys: named, with a role, shown once, listed with last use, revocable; the bootstrap key keeps working', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const admin = running.adminApiKey;

  const created = await http(running, 'POST', '/api/v1/api-keys', admin, { name: 'ci import', role: 'operator' });
  assert.equal(created.status, 201, created.text);
  const { key, keyId } = created.json;
  assert.match(key, /^tk_[A-Za-z0-9_-]{43}$/);
  assert.equal(created.json.hint, `…${key.slice(-4)}`);
  assert.equal(created.json.createdBy, 'bootstrap');
  assert.equal(created.json.lastUsedDate, null);

  const listed = await http(running, 'GET', '/api/v1/api-keys', admin);
  assert.equal(listed.json.length, 1);
  assert.ok(!listed.text.includes(key), 'the key itself is never listed');
  assert.ok(!('keyHash' in listed.json[0]));

  assert.equal((await http(running, 'POST', '/epr/api/v1/endpoints', key, { appVersion: { name: 'demo_application_v1' } })).status, 201);
  assert.equal((await http(running, 'GET', '/api/v1/api-keys', key)).status, 403, 'an operator key cannot manage keys');
  const used = (await http(running, 'GET', '/api/v1/api-keys', admin)).json[0];
  assert.ok(used.lastUsedDate !== null, 'last use is recorded');

  assert.equal((await http(running, 'POST', '/api/v1/api-keys', admin, { name: 'bad/name', role: 'viewer' })).json.code, 'API_KEY_NAME_INVALID');
  assert.equal((await http(running, 'POST', '/api/v1/api-keys', admin, { name: 'x', role: 'root' })).status, 400);

  const revoked = await http(running, 'DELETE', `/api/v1/api-keys/${keyId}`, admin);
  assert.equal(revoked.json.status, 'REVOKED');
  assert.ok(revoked.json.revokedDate);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', key)).status, 401);
  assert.equal((await http(running, 'DELETE', `/api/v1/api-keys/${keyId}`, admin)).json.code, 'API_KEY_NOT_FOUND');
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', admin)).status, 200, 'the bootstrap admin key keeps working');
});

test('audit: every kind of change is recorded with who, when, where and before/after, and filtered by endpoint, user and time', async (t) => {
  const running = await start(t, await testConfig(tempDir(t), [], { TETHER_ADMIN_PASSWORD: ADMIN_PASSWORD }));
  const admin = running.adminApiKey;
  const t0 = new Date().toISOString();
  const cookie = await signIn(running, 'admin', ADMIN_PASSWORD);

  const { endpointId } = await createEndpoint(running, { metadata: { model: 'A300' } });
  await http(running, 'PATCH', `/epr/api/v1/endpoints/${endpointId}/metadata`, cookie, { model: 'A400', mac: '00-14' }, 'application/merge-patch+json');
  const tokens = (await http(running, 'GET', `/cm/api/v1/endpoints/${endpointId}/tokens`, admin)).json;
  await http(running, 'POST', `/cm/api/v1/endpoints/${endpointId}/tokens/${tokens[0].tokenId}/suspend`, cookie);
  await http(running, 'POST', '/api/v1/users', admin, { username: 'vera', role: 'viewer', password: 'vera-password' });
  await http(running, 'PUT', '/api/v1/users/vera/role', cookie, { role: 'operator' });
  const apiKey = (await http(running, 'POST', '/api/v1/api-keys', cookie, { name: 'reader', role: 'viewer' })).json;
  await http(running, 'DELETE', `/api/v1/api-keys/${apiKey.keyId}`, admin);
  await http(running, 'POST', '/api/v1/applications', admin, { name: 'meters' });
  await http(running, 'DELETE', `/epr/api/v1/endpoints/${endpointId}`, admin);
  // Refused and read-only requests are not changes.
  await http(running, 'GET', '/epr/api/v1/endpoints', admin);
  await http(running, 'DELETE', '/epr/api/v1/endpoints/none', admin);

  const all = (await http(running, 'GET', '/api/v1/audit?limit=500', admin)).json;
  const actions = all.content.map((e: { action: string }) => e.action).reverse();
  assert.deepEqual(actions, [
    'user.sign-in',
    'endpoint.create',
    'metadata.update',
    'token.suspend',
    'user.create',
    'user.set-role',
    'api-key.create',
    'api-key.revoke',
    'application.create',
    'endpoint.delete',
  ]);
  const byAction = (action: string) => all.content.find((e: { action: string }) => e.action === action);
  const patch = byAction('metadata.update');
  assert.deepEqual(patch.actor, { kind: 'user', name: 'admin', role: 'admin' });
  assert.equal(patch.clientAddress, '127.0.0.1');
  assert.equal(patch.endpointId, endpointId);
  assert.equal(patch.path, `/epr/api/v1/endpoints/${endpointId}/metadata`);
  assert.deepEqual(patch.before.metadata, { model: 'A300' });
  assert.deepEqual(patch.after.metadata, { model: 'A400', mac: '00-14' });
  const suspend = byAction('token.suspend');
  assert.equal(suspend.before.tokens[0].status, 'INACTIVE');
  assert.equal(suspend.after.tokens[0].status, 'SUSPENDED');
  const created = byAction('endpoint.create');
  assert.equal(created.endpointId, endpointId, 'a creation names the new endpoint');
  assert.equal(created.before, null);
  assert.deepEqual(created.actor, { kind: 'bootstrap-key', name: 'bootstrap', role: 'admin' });
  assert.deepEqual([byAction('user.set-role').before, byAction('user.set-role').after], [{ role: 'viewer' }, { role: 'operator' }]);
  assert.deepEqual(byAction('api-key.revoke').after, { name: 'reader', role: 'viewer', status: 'REVOKED' });
  assert.equal(byAction('endpoint.delete').after, null);
  assert.ok(!JSON.stringify(all).includes('vera-password'), 'no passwords');
  assert.ok(!JSON.stringify(all).includes(apiKey.key), 'no keys');

  const forEndpoint = (await http(running, 'GET', `/api/v1/audit?endpointId=${endpointId}`, admin)).json.content;
  assert.deepEqual(forEndpoint.map((e: { action: string }) => e.action).reverse(), ['endpoint.create', 'metadata.update', 'token.suspend', 'endpoint.delete']);
  const byUser = (await http(running, 'GET', '/api/v1/audit?actor=admin', admin)).json.content;
  assert.deepEqual(byUser.map((e: { action: string }) => e.action).reverse(), ['user.sign-in', 'metadata.update', 'token.suspend', 'user.set-role', 'api-key.create']);
  assert.equal((await http(running, 'GET', `/api/v1/audit?to=${encodeURIComponent(t0)}`, admin)).json.content.length, 0);
  assert.equal((await http(running, 'GET', `/api/v1/audit?from=${encodeURIComponent(t0)}&action=user.create`, admin)).json.content.length, 1);
  const page1 = (await http(running, 'GET', '/api/v1/audit?limit=3', admin)).json;
  const page2 = (await http(running, 'GET', `/api/v1/audit?limit=3&before=${page1.next}`, admin)).json;
  assert.deepEqual([...page1.content, ...page2.content].map((e: { id: number }) => e.id), all.content.slice(0, 6).map((e: { id: number }) => e.id));
  assert.equal((await http(running, 'GET', '/api/v1/audit', 'cookie=tether_session=forged')).status, 401);
});

test('metadata history: device and operator changes, newest first; device changes are not audit entries', async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const admin = running.adminApiKey;
  const { endpointId } = await createEndpoint(running, { metadata: { fw: '1.0' } });
  await running.services.registry.changeMetadata(endpointId, { kind: 'merge', metadata: { fw: '1.1' } }, 'device');
  await http(running, 'PUT', `/epr/api/v1/endpoints/${endpointId}/metadata/label`, admin, '"kitchen"');
  const history = (await http(running, 'GET', `/api/v1/endpoints/${endpointId}/metadata-history`, admin)).json;
  assert.deepEqual(
    history.content.map((e: { source: string; metadata: unknown }) => [e.source, e.metadata]),
    [
      ['operator', { fw: '1.1', label: 'kitchen' }],
      ['device', { fw: '1.1' }],
    ],
  );
  const audited = (await http(running, 'GET', `/api/v1/audit?endpointId=${endpointId}`, admin)).json.content.map((e: { action: string }) => e.action);
  assert.deepEqual(audited, ['metadata.update', 'endpoint.create']);
});

test('audit retention: entries older than the retention period are deleted', async (t) => {
  const running = await start(t, await testConfig(tempDir(t), [], { TETHER_AUDIT_RETENTION_DAYS: '30' }));
  const store = running.accounts.store;
  const entry = { actor: { kind: 'user' as const, name: 'a', role: null }, clientAddress: null, action: 'x', method: 'POST', path: '/', endpointId: null, target: null, before: null, after: null };
  await store.appendAudit({ ...entry, at: new Date(Date.now() - 31 * 86_400_000).toISOString() });
  await store.appendAudit({ ...entry, at: new Date(Date.now() - 29 * 86_400_000).toISOString() });
  assert.equal(running.accounts.audit.retentionDays, 30);
  assert.equal(await running.accounts.audit.prune(), 1);
  assert.equal((await store.queryAudit({ limit: 10 })).length, 1);
});

test('audit: applications, versions, client credentials, dashboard settings, throttles, own password and user deletion too', async (t) => {
  const running = await start(t, await testConfig(tempDir(t), ['--client-auth', 'basic'], { TETHER_ADMIN_PASSWORD: ADMIN_PASSWORD }));
  const admin = running.adminApiKey;
  const cookie = await signIn(running, 'admin', ADMIN_PASSWORD);
  const ok = (res: { status: number; text: string }) => assert.ok(res.status < 300, res.text);

  ok(await http(running, 'POST', '/api/v1/applications', admin, { name: 'meters' }));
  ok(await http(running, 'POST', '/api/v1/applications/meters/versions', admin, { name: 'meters_v1', extensions: ['epmx'] }));
  ok(await http(running, 'PATCH', '/api/v1/app-versions/meters_v1', admin, { metadataKeyAccess: { serial: 'read-only' } }));
  const credential = await http(running, 'POST', '/cm/api/v1/client-credentials', admin, { kind: 'basic', applicationName: 'meters', username: 'gw-1', password: 'gateway-password-1' });
  ok(credential);
  ok(await http(running, 'POST', `/cm/api/v1/client-credentials/${credential.json.credentialId}/suspend`, admin));
  ok(await http(running, 'PUT', '/dashboard/api/applications/meters/widget', cookie, { columns: [{ key: 'model', header: 'Model' }] }));
  ok(await http(running, 'PUT', '/dashboard/api/applications/meters/form', cookie, { fields: [] }));
  ok(await http(running, 'DELETE', '/api/v1/sign-in-throttles', admin));
  ok(await http(running, 'POST', '/api/v1/users', admin, { username: 'gone', role: 'viewer', password: 'gone-password' }));
  ok(await http(running, 'DELETE', '/api/v1/users/gone', admin));
  ok(await http(running, 'PUT', '/api/v1/me/password', cookie, { currentPassword: ADMIN_PASSWORD, password: 'admin-password-2' }));
  ok(await http(running, 'DELETE', '/api/v1/applications/meters', admin));

  const entries = (await http(running, 'GET', '/api/v1/audit?limit=500', admin)).json.content.reverse();
  const seen = entries.map((e: { action: string; target: string | null }) => [e.action, e.target]);
  assert.deepEqual(seen, [
    ['user.sign-in', 'admin'],
    ['application.create', 'meters'],
    ['app-version.create', 'meters_v1'],
    ['app-version.update', 'meters_v1'],
    ['client-credential.create', credential.json.credentialId],
    ['client-credential.suspend', credential.json.credentialId],
    ['dashboard.widget', 'meters'],
    ['dashboard.form', 'meters'],
    ['sign-in-throttle.clear', null],
    ['user.create', 'gone'],
    ['user.delete', 'gone'],
    ['user.change-password', 'admin'],
    ['application.delete', 'meters'],
  ]);
  const version = entries.find((e: { action: string }) => e.action === 'app-version.update');
  assert.deepEqual([version.before.metadataKeyAccess, version.after.metadataKeyAccess], [{}, { serial: 'read-only' }]);
  assert.deepEqual(entries.find((e: { action: string }) => e.action === 'user.delete').before, { role: 'viewer' });
  const suspended = entries.find((e: { action: string }) => e.action === 'client-credential.suspend');
  assert.deepEqual([suspended.before.status, suspended.after.status], ['ACTIVE', 'SUSPENDED']);
  assert.equal(entries.find((e: { action: string }) => e.action === 'client-credential.create').after.status, 'ACTIVE');
  assert.ok(!JSON.stringify(entries).includes('gateway-password-1'));
  assert.ok(!JSON.stringify(entries).includes('admin-password-2'));
});

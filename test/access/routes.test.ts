/**
 * Every registered HTTP route, called as nobody, viewer, operator and admin over a real server and
 * checked against the least role this file expects for it (EXPECTED below). Fails when a route has
 * no rule (add one line to src/access/rules.ts, or `config: { access }` on the route), when the rule
 * differs from the expected role, or when the server lets a smaller role through.
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { type Role, ROLES, roleRank } from '../../src/core/accounts.js';
import { ruleFor } from '../../src/access/rules.js';
import { start, testConfig } from '../platform/helpers.js';
import { httpCall } from '../helpers/http.js';
import { tempDir } from '../helpers/tmp.js';

/** Values for path parameters: things that do not exist, so no call changes what others rely on. */
const SAMPLE: Record<string, string> = {
  endpointId: 'no-such-endpoint',
  tokenId: 'no-such-token',
  key: 'model',
  applicationName: 'no_such_app',
  versionName: 'no_such_version',
  credentialId: 'no-such-credential',
  username: 'nobody',
  keyId: 'k_none',
  '*': 'no-such-thing',
};

function concrete(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, (_m, name: string) => SAMPLE[name] ?? 'x').replace(/\*$/, SAMPLE['*']!);
}

/**
 * The least role each route needs, written here and not read from src/access/rules.ts: a wrong line
 * in the rules table (a viewer allowed to PUT metadata) fails this test. A new route needs a line
 * here too, with the role docs/accounts.md gives it. `*` as the method stands for every method.
 */
const EXPECTED: Readonly<Record<string, 'public' | Role>> = {
  'GET /api/openapi.json': 'public',
  'GET /api/docs': 'public',
  'GET /api/docs/static/index.html': 'public',
  'GET /api/docs/static/swagger-initializer.js': 'public',
  'GET /api/docs/json': 'public',
  'GET /api/docs/yaml': 'public',
  'GET /api/docs/static/*': 'public',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'POST /dashboard/api/sign-in': 'public',
  'POST /dashboard/api/sign-out': 'viewer',
  'GET /dashboard/api/me': 'public',
  'GET /dashboard/api/info': 'viewer',
  'GET /dashboard/api/applications/:applicationName/widget': 'viewer',
  'PUT /dashboard/api/applications/:applicationName/widget': 'admin',
  'GET /dashboard/api/applications/:applicationName/form': 'viewer',
  'PUT /dashboard/api/applications/:applicationName/form': 'admin',
  'GET /dashboard/api/applications/:applicationName/metadata-keys': 'viewer',
  'GET /dashboard/api/events': 'viewer',
  'GET /dashboard/api/map': 'viewer',
  'PUT /dashboard/api/map': 'admin',
  'GET /': 'public',
  'GET /*': 'public',
  'POST /epr/api/v1/endpoints': 'operator',
  'GET /epr/api/v1/endpoints': 'viewer',
  'GET /epr/api/v1/endpoints/:endpointId': 'viewer',
  'DELETE /epr/api/v1/endpoints/:endpointId': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata': 'viewer',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata': 'operator',
  'PATCH /epr/api/v1/endpoints/:endpointId/metadata': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata/:key': 'viewer',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata/:key': 'operator',
  'DELETE /epr/api/v1/endpoints/:endpointId/metadata/:key': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata-keys': 'viewer',
  'GET /epr/api/v1/applications/:applicationName/metadata-keys': 'viewer',
  'GET /cm/api/v1/endpoints/:endpointId/tokens': 'viewer',
  'POST /cm/api/v1/endpoints/:endpointId/tokens': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/suspend': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/reactivate': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/revoke': 'operator',
  'GET /api/v1/applications': 'viewer',
  'POST /api/v1/applications': 'admin',
  'GET /api/v1/applications/:applicationName': 'viewer',
  'DELETE /api/v1/applications/:applicationName': 'admin',
  'GET /api/v1/applications/:applicationName/versions': 'viewer',
  'POST /api/v1/applications/:applicationName/versions': 'admin',
  'GET /api/v1/app-versions/:versionName': 'viewer',
  'PATCH /api/v1/app-versions/:versionName': 'admin',
  'GET /cm/api/v1/client-credentials': 'admin',
  'POST /cm/api/v1/client-credentials': 'admin',
  'GET /cm/api/v1/client-credentials/:credentialId': 'admin',
  'PUT /cm/api/v1/client-credentials/:credentialId/endpoints': 'admin',
  'POST /cm/api/v1/client-credentials/:credentialId/suspend': 'admin',
  'POST /cm/api/v1/client-credentials/:credentialId/reactivate': 'admin',
  'POST /cm/api/v1/client-credentials/:credentialId/revoke': 'admin',
  'DELETE /cm/api/v1/client-credentials/:credentialId': 'admin',
  'GET /epts/api/v1/time-series/config': 'viewer',
  'GET /epts/api/v1/applications/:applicationName/time-series/last': 'viewer',
  'GET /epts/api/v1/applications/:applicationName/time-series/data': 'viewer',
  'POST /epts/api/v1/applications/:applicationName/time-series/data': 'operator',
  'GET /api/v1/applications/:applicationName/time-series': 'viewer',
  'PUT /api/v1/applications/:applicationName/time-series': 'admin',
  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/:username': 'admin',
  'PUT /api/v1/users/:username/role': 'admin',
  'PUT /api/v1/users/:username/password': 'admin',
  'DELETE /api/v1/users/:username': 'admin',
  'PUT /api/v1/me/password': 'viewer',
  'GET /api/v1/sign-in-throttles': 'admin',
  'DELETE /api/v1/sign-in-throttles': 'admin',
  'GET /api/v1/api-keys': 'admin',
  'POST /api/v1/api-keys': 'admin',
  'DELETE /api/v1/api-keys/:keyId': 'admin',
  'GET /api/v1/audit': 'admin',
  'GET /api/v1/endpoints/:endpointId/metadata-history': 'viewer',
  'GET /api/v1/endpoints/export': 'viewer',
  'POST /api/v1/endpoints/import': 'operator',
  'POST /api/v1/endpoints/bulk': 'operator',
  // Configurations (docs: ECR) and commands (CEX): reading is a viewer's, sending an operator's, a schema an admin's.
  'PUT /ecr/api/v1/endpoints/:endpointId/app-versions/:appVersionName': 'operator',
  'GET /ecr/api/v1/endpoints/:endpointId/app-versions/:appVersionName': 'viewer',
  'DELETE /ecr/api/v1/endpoints/:endpointId/app-versions/:appVersionName': 'operator',
  'GET /ecr/api/v1/endpoints/:endpointId/app-versions/:appVersionName/configurations': 'viewer',
  'PUT /ecr/api/v1/app-versions/:appVersionName': 'operator',
  'GET /ecr/api/v1/app-versions/:appVersionName': 'viewer',
  'DELETE /ecr/api/v1/app-versions/:appVersionName': 'operator',
  'GET /ecr/api/v1/app-versions/:appVersionName/configurations': 'viewer',
  'GET /ecr/api/v1/app-versions/:appVersionName/schema': 'viewer',
  'PUT /ecr/api/v1/app-versions/:appVersionName/schema': 'admin',
  'DELETE /ecr/api/v1/app-versions/:appVersionName/schema': 'admin',
  'PUT /ecr/api/v1/endpoints/batch': 'operator',
  'GET /ecr/api/v1/statuses': 'viewer',
  'POST /cex/api/v1/endpoints/:endpointId/commands/:commandType': 'operator',
  'GET /cex/api/v1/endpoints/:endpointId/commands/:commandType/last': 'viewer',
  'GET /cex/api/v1/endpoints/:endpointId/commands/:commandType/:commandId': 'viewer',
  'DELETE /cex/api/v1/endpoints/:endpointId/commands/:commandType/:commandId': 'operator',
  'GET /cex/api/v1/endpoints/commands': 'viewer',
  'GET /cex/api/v1/endpoints/commands/:applicationName': 'viewer',
  'POST /cex/api/v1/endpoints/commands/last': 'viewer',
  'POST /cex/api/v1/endpoints/commands/:commandType/batch/by-endpoints': 'operator',
  'POST /cex/api/v1/endpoints/commands/:commandType/batch/by-query': 'operator',
  'GET /cex/api/v1/endpoints/commands/batch/tasks': 'viewer',
  'GET /cex/api/v1/endpoints/commands/batch/tasks/:taskId': 'viewer',
  'GET /otao/api/v1/applications/:appName/software': 'viewer',
  'POST /otao/api/v1/applications/:appName/software': 'operator',
  'GET /otao/api/v1/applications/:appName/software/:version': 'viewer',
  'PUT /otao/api/v1/applications/:appName/software/:version': 'operator',
  'DELETE /otao/api/v1/applications/:appName/software/:version': 'operator',
  'GET /otao/api/v1/endpoints/:endpointId/software': 'viewer',
  'GET /otao/api/v1/endpoints/:endpointId/software/history': 'viewer',
  'POST /otao/api/v1/applications/:appName/rollouts': 'operator',
  'GET /otao/api/v1/applications/:appName/rollouts': 'viewer',
  'GET /otao/api/v1/rollouts/:rolloutId': 'viewer',
  'GET /otao/api/v1/rollouts/:rolloutId/devices': 'viewer',
  'GET /otao/api/v1/rollouts/:rolloutId/timeline': 'viewer',
  'POST /otao/api/v1/rollouts/:rolloutId/pause': 'operator',
  'POST /otao/api/v1/rollouts/:rolloutId/resume': 'operator',
  'POST /otao/api/v1/rollouts/:rolloutId/cancel': 'operator',
  // Software packages (docs/software.md): uploading and deleting is an operator's; devices download with their token or a signed URL.
  'PUT /otao/api/v1/applications/:appName/software/:version/package': 'operator',
  'GET /otao/api/v1/applications/:appName/software/:version/package': 'viewer',
  'DELETE /otao/api/v1/applications/:appName/software/:version/package': 'operator',
  'GET /otao/api/v1/packages/:appName/:version': 'public',
  '* /epr/api/v1/*': 'viewer',
  '* /cm/api/v1/*': 'viewer',
  '* /api/v1/*': 'viewer',
  '* /epts/api/v1/*': 'viewer',
  '* /ecr/api/v1/*': 'viewer',
  '* /cex/api/v1/*': 'viewer',
  '* /otao/api/v1/*': 'viewer',
};

function expectedFor(method: string, url: string): 'public' | Role | undefined {
  return EXPECTED[`${method} ${url}`] ?? EXPECTED[`* ${url}`];
}

async function call(base: string, method: string, url: string, authorization?: string): Promise<{ status: number; body: { code?: string; message?: string } | undefined }> {
  const withBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE' && method !== 'OPTIONS';
  const reply = await httpCall(base, method, url, { auth: authorization, ...(withBody && { body: {} }) });
  return { status: reply.status, body: reply.json as { code?: string; message?: string } | undefined };
}

// Longer than the 30 s default: about 500 HTTP calls (every route, as nobody and three roles).
test('every route has an access rule, the expected one, and enforces it for nobody, viewer, operator and admin', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  const running = await start(t, await testConfig(dir, ['--client-auth', 'basic']));
  const base = `http://127.0.0.1:${running.httpPort}`;

  // HEAD follows GET; the catch-alls also answer exotic methods (TRACE, PROPFIND, ...) that fetch cannot send.
  const routes = running.routes().filter((r) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
  const missing = routes.filter((r) => r.access === undefined).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(missing, [], `routes without an access rule; add them to src/access/rules.ts:\n${missing.join('\n')}`);
  assert.ok(routes.length > 50, `found ${routes.length} routes`);

  const keys: Record<Role, string> = {} as Record<Role, string>;
  for (const role of ROLES) keys[role] = (await running.accounts.apiKeys.create({ name: `test ${role}`, role, createdBy: 'test' })).key;

  const unlisted = routes.filter((r) => expectedFor(r.method, r.url) === undefined).map((r) => `${r.method} ${r.url} (rules.ts says ${r.access})`);
  assert.deepEqual(unlisted, [], `routes without an expected role in this test; add them to EXPECTED:\n${unlisted.join('\n')}`);

  const failures: string[] = [];
  for (const route of routes) {
    const url = concrete(route.url);
    const rule = expectedFor(route.method, route.url)!;
    if (route.access !== rule) failures.push(`${route.method} ${route.url}: src/access/rules.ts says ${route.access}, this test expects ${rule}`);
    const anonymous = await call(base, route.method, url);
    if (rule === 'public') {
      if (anonymous.status === 401 || anonymous.status === 403) failures.push(`${route.method} ${route.url} is public but answered ${anonymous.status}`);
      continue;
    }
    if (anonymous.status !== 401) failures.push(`${route.method} ${route.url} without credentials: ${anonymous.status}, want 401`);
    for (const role of ROLES) {
      const res = await call(base, route.method, url, `Bearer ${keys[role]}`);
      const allowed = roleRank(role) >= roleRank(rule);
      const roleRefusal = res.status === 403 && res.body?.code === 'FORBIDDEN';
      if (allowed && (res.status === 401 || roleRefusal)) failures.push(`${route.method} ${route.url} (${rule}) refused ${role}: ${res.status} ${res.body?.message}`);
      if (!allowed && !roleRefusal) failures.push(`${route.method} ${route.url} (${rule}) let ${role} through: ${res.status} ${res.body?.message}`);
      if (!allowed && roleRefusal) assert.match(res.body!.message!, new RegExp(`needs the ${rule} role; API key "test ${role}" has the ${role} role`));
    }
  }
  assert.deepEqual(failures, []);
});

test('the rule table: exact keys, method wildcards, ** prefixes, HEAD follows GET, unknown routes have no rule', () => {
  assert.equal(ruleFor('GET', '/epr/api/v1/endpoints'), 'viewer');
  assert.equal(ruleFor('HEAD', '/epr/api/v1/endpoints'), 'viewer');
  assert.equal(ruleFor('POST', '/epr/api/v1/endpoints'), 'operator');
  assert.equal(ruleFor('PUT', '/cm/api/v1/client-credentials/:credentialId/endpoints'), 'admin');
  assert.equal(ruleFor('GET', '/api/docs/static/index.html'), 'public');
  // A new route under a prefix with a catch-all is NOT covered by the catch-all's rule.
  assert.equal(ruleFor('POST', '/api/v1/something-new'), undefined);
  assert.equal(ruleFor('GET', '/epts/api/v1/endpoints/:endpointId/time-series'), undefined);
  assert.equal(ruleFor('GET', '/x', { 'GET /x': 'operator' }), 'operator');
});

/**
 * Every registered HTTP route, with the rule it declares, called as nobody, viewer, operator and
 * admin over a real server. Fails when a route has no rule: add one line to src/access/rules.ts
 * (or `config: { access }` on the route).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Role, ROLES, roleRank } from '../../src/core/accounts.js';
import { ruleFor } from '../../src/access/rules.js';
import { start, testConfig } from '../platform/helpers.js';
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

async function call(base: string, method: string, url: string, authorization?: string): Promise<{ status: number; body: { code?: string; message?: string } | undefined }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const withBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE' && method !== 'OPTIONS';
    const response = await fetch(base + url, {
      method,
      signal: controller.signal,
      headers: { ...(authorization && { authorization }), ...(withBody && { 'content-type': 'application/json' }) },
      ...(withBody && { body: '{}' }),
    });
    // The live-update stream never ends: its headers are the answer.
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      controller.abort();
      return { status: response.status, body: undefined };
    }
    const text = await response.text();
    let body: { code?: string; message?: string } | undefined;
    try {
      body = JSON.parse(text) as { code?: string; message?: string };
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

test('every route has an access rule, and every route enforces it for nobody, viewer, operator and admin', async (t) => {
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

  const failures: string[] = [];
  for (const route of routes) {
    const url = concrete(route.url);
    const rule = route.access!;
    const anonymous = await call(base, route.method, url);
    if (rule === 'public') {
      if (anonymous.status === 401 || anonymous.status === 403) failures.push(`${route.method} ${route.url} is public but answered ${anonymous.status}`);
      continue;
    }
    if (anonymous.status !== 401) failures.push(`${route.method} ${route.url} without credentials: ${anonymous.status}, want 401`);
    for (const role of ROLES) {
      const res = await call(base, route.method, url, `Bearer ${keys[role]}`);
      const allowed = roleRank(role) >= roleRank(rule);
      const roleRefusal = res.status === 403 && /^This needs the \w+ role/.test(res.body?.message ?? '');
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

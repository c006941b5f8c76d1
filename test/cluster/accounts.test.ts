import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { TetherNode } from '../../src/cluster/local/nodes.js';
import { asJson, httpCall, type Reply as Answer } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { openFeed, startTestCluster } from './harness.js';

/**
 * Two `tether start` processes on one PostgreSQL and one NATS share their accounts: users, API
 * keys, dashboard sessions, the audit log and metadata history. Both start at once on an empty
 * database (one admin user, no failure). Every wait has a deadline.
 */
const ADMIN_API_KEY = 'cluster-accounts-admin-key-0123456789';
const ADMIN_PASSWORD = 'cluster-accounts-password';
// How long a revoke on one node may take to be refused on another (it is immediate: nothing is cached).
const REFUSED_WITHIN_MS = 5000;

/** `auth`: a bearer key, or `cookie=<name=value>`. */
function call(node: TetherNode, method: string, route: string, auth: string, body?: unknown): Promise<Answer> {
  return httpCall(node, method, route, { auth, body: asJson(body) });
}

async function signIn(node: TetherNode, username: string, password: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${node.httpPort}/dashboard/api/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 200, `sign-in as ${username} on ${node.nodeId}: ${await response.clone().text()}`);
  return `cookie=${(response.headers.get('set-cookie') ?? '').split(';')[0]!}`;
}

// Longer than the 30 s default: it starts two Tether processes and their PostgreSQL and NATS.
test('two nodes, one set of accounts: users, API keys, sessions, audit and history made on one node hold on the other', { timeout: 120_000 }, async (t) => {
  const cluster = await startTestCluster(t, { adminApiKey: ADMIN_API_KEY, adminPassword: ADMIN_PASSWORD, prefix: 'tether-cluster-accounts-' });
  const start = cluster.start;
  // At once, on an empty database: both find no users and race to create the admin; one wins.
  const [node1, node2] = await Promise.all([start(1), start(2)]);
  const users = await call(node2, 'GET', '/api/v1/users', ADMIN_API_KEY);
  assert.deepEqual(users.json.map((u: { username: string }) => u.username), ['admin']);
  for (const node of [node1, node2]) assert.doesNotMatch(node.output(), /"level":(50|60)/, `${node.nodeId} logged an error:\n${node.output()}`);

  // A user created through node 1 signs in on node 2.
  assert.equal((await call(node1, 'POST', '/api/v1/users', ADMIN_API_KEY, { username: 'alice', role: 'operator', password: 'alice-password-1' })).status, 201);
  const onNode2 = await signIn(node2, 'alice', 'alice-password-1');
  assert.equal((await call(node2, 'GET', '/epr/api/v1/endpoints', onNode2)).status, 200);

  // A session made on node 1 is accepted by node 2's API; signed out on node 1, node 2 refuses it.
  const onNode1 = await signIn(node1, 'alice', 'alice-password-1');
  assert.deepEqual((await call(node2, 'GET', '/dashboard/api/me', onNode1)).json, { signedIn: true, username: 'alice', role: 'operator' });
  assert.equal((await call(node2, 'GET', '/epr/api/v1/endpoints', onNode1)).status, 200);
  assert.equal((await call(node1, 'POST', '/dashboard/api/sign-out', onNode1)).status, 204);
  await waitFor('node 2 to refuse the session signed out on node 1', () => call(node2, 'GET', '/epr/api/v1/endpoints', onNode1), { until: (r) => r.status === 401, timeoutMs: REFUSED_WITHIN_MS });
  assert.equal((await call(node2, 'GET', '/epr/api/v1/endpoints', onNode2)).status, 200, 'her other session goes on');

  // A password reset on node 1 ends her sessions on node 2; deleting her on node 1 ends the new one.
  assert.equal((await call(node1, 'PUT', '/api/v1/users/alice/password', ADMIN_API_KEY, { password: 'alice-password-2' })).status, 200);
  await waitFor('node 2 to refuse the session after the password reset on node 1', () => call(node2, 'GET', '/epr/api/v1/endpoints', onNode2), { until: (r) => r.status === 401, timeoutMs: REFUSED_WITHIN_MS });
  const again = await signIn(node2, 'alice', 'alice-password-2');
  assert.equal((await call(node1, 'DELETE', '/api/v1/users/alice', ADMIN_API_KEY)).status, 204);
  await waitFor('node 2 to refuse the session of the user deleted on node 1', () => call(node2, 'GET', '/epr/api/v1/endpoints', again), { until: (r) => r.status === 401, timeoutMs: REFUSED_WITHIN_MS });

  // An API key created on node 1 works on node 2; revoked on node 1, node 2 refuses it.
  const created = await call(node1, 'POST', '/api/v1/api-keys', ADMIN_API_KEY, { name: 'ci', role: 'operator' });
  assert.equal(created.status, 201);
  const apiKey: string = created.json.key;
  assert.equal((await call(node2, 'GET', '/epr/api/v1/endpoints', apiKey)).status, 200);
  assert.equal((await call(node1, 'DELETE', `/api/v1/api-keys/${created.json.keyId}`, ADMIN_API_KEY)).status, 200);
  const revokedAt = Date.now();
  await waitFor('node 2 to refuse the key revoked on node 1', () => call(node2, 'GET', '/epr/api/v1/endpoints', apiKey), { until: (r) => r.status === 401, timeoutMs: REFUSED_WITHIN_MS });
  t.diagnostic(`revoked key refused on node 2 ${Date.now() - revokedAt} ms after the revoke on node 1`);

  // One audit log: node 1's changes are listed by node 2.
  const audit = await call(node2, 'GET', '/api/v1/audit?limit=100', ADMIN_API_KEY);
  const actions = audit.json.content.map((e: { action: string }) => e.action);
  for (const action of ['user.create', 'user.delete', 'api-key.create', 'api-key.revoke']) assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);

  // One metadata history, each change once: node 2 hears node 1's change over the bus but does not record it again.
  const feed = await openFeed(node2, ADMIN_PASSWORD);
  const endpoint = await call(node1, 'POST', '/epr/api/v1/endpoints', ADMIN_API_KEY, { appVersion: { name: 'demo_application_v1' }, metadata: { a: 1 } });
  assert.equal(endpoint.status, 201);
  const endpointId: string = endpoint.json.endpointId;
  assert.equal((await call(node1, 'PUT', `/epr/api/v1/endpoints/${endpointId}/metadata`, ADMIN_API_KEY, { a: 2 })).status, 200);
  // Each node writes what it recorded before it answers a history query (and once a second anyway):
  // asking node 1 writes its version; asking node 2 after it has heard the change (its live feed shows
  // it: one NATS subscription feeds every handler of a node, the history recorder included) writes a
  // copy, if node 2 made one. No sleeping for the flush timer.
  const historyOn = (node: TetherNode) => call(node, 'GET', `/api/v1/endpoints/${endpointId}/metadata-history`, ADMIN_API_KEY);
  await waitFor('node 1 to write the metadata history', () => historyOn(node1), { until: (r) => r.json.content.length >= 1, timeoutMs: 10_000 });
  await waitFor('node 2 to hear the change', () => feed.events.some((e) => e.type === 'metadata.updated' && e.endpointId === endpointId && JSON.stringify(e.metadata) === '{"a":2}'), 10_000);
  feed.close();
  assert.deepEqual((await historyOn(node2)).json.content.map((h: { metadata: unknown }) => h.metadata), [{ a: 2 }]);
});

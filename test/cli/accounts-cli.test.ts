/** The built CLI as a user runs it (child processes) against a Tether started in this process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/log.js';
import { startTether } from '../../src/platform/tether.js';
import { http, signIn } from '../accounts/helpers.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tether(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...env, ...options.env }, ...(options.cwd && { cwd: options.cwd }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

// Longer than the 30 s default: a `tether start` process and several CLI processes, each a cold Node start.
test('tether device waits for the reply by default and exits 1 with the reason when the token is refused', { timeout: 120_000 }, async (t) => {
  const running = await start(t, await testConfig(tempDir(t)));
  const device = (token: string, extra: string[] = []) => tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(running.mqttPort), ...extra]);
  const { endpointId, token } = await createEndpoint(running);

  const ok = await device(token);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /DEBUG: Composed metadata topic: kp1\/demo_application_v1\/epmx\/\S+\/update\/keys\/\d+\n/, 'a request ID by default');
  assert.match(ok.stdout, /Server accepted the request/);

  const unknown = await device('no-such-token');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /ERROR: .*(401|not known)/);

  const [first] = await running.services.credentials.listTokens(endpointId);
  await running.services.credentials.changeTokenStatus(endpointId, first!.tokenId, 'suspend');
  const suspended = await device(token);
  assert.equal(suspended.code, 1);
  assert.match(suspended.stderr, /ERROR: Server rejected the request .*403 .*suspended/);

  await running.services.credentials.changeTokenStatus(endpointId, first!.tokenId, 'revoke');
  const revoked = await device(token);
  assert.equal(revoked.code, 1);
  assert.match(revoked.stderr, /ERROR: Server rejected the request .*403 .*revoked/);

  // --no-wait is the tutorial's fire-and-forget client: it cannot know, so it does not claim.
  const blind = await device(token, ['--no-wait']);
  assert.equal(blind.code, 0);
  assert.match(blind.stdout, /update\/keys\n/);
  assert.equal((await device(token, ['--no-wait', '--request-id', '3'])).code, 1);
});

// Longer than the 30 s default: `tether start` twice and several CLI processes, each a cold Node start.
test('tether admin reset-password works offline on the data dir, generated or from stdin, and ends sessions of a running server', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const config = await testConfig(dir, [], { TETHER_ADMIN_PASSWORD: 'first-password' });
  const first = await startTether(config, { logger: silentLogger });
  await first.stop();

  const generated = await tether(['admin', 'reset-password', '--data-dir', dir]);
  assert.equal(generated.code, 0, generated.stderr);
  const password = /New password \(shown only this once\):\n {2}(\S+)/.exec(generated.stdout)?.[1];
  assert.ok(password, generated.stdout);

  const running = await start(t, await testConfig(dir));
  const cookie = await signIn(running, 'admin', password);
  assert.equal((await http(running, 'POST', '/dashboard/api/sign-in', '', { username: 'admin', password: 'first-password' })).status, 401);

  // While the server runs: the old session ends, the piped password works.
  const piped = await tether(['admin', 'reset-password', '--user', 'admin', '--stdin'], { stdin: 'piped-password-1\n', env: { TETHER_DATA_DIR: dir } });
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stdout, /piped-password-1/);
  assert.equal((await http(running, 'GET', '/epr/api/v1/endpoints', cookie)).status, 401);
  await signIn(running, 'admin', 'piped-password-1');

  // A missing user is created as an admin with --create; mistakes are one line.
  const rescue = await tether(['admin', 'reset-password', '--user', 'rescue', '--create', '--data-dir', dir]);
  assert.equal(rescue.code, 0, rescue.stderr);
  assert.match(rescue.stdout, /Created admin user "rescue"/);
  assert.equal((await running.accounts.store.getUser('rescue'))?.role, 'admin');
  const short = await tether(['admin', 'reset-password', '--stdin', '--data-dir', dir], { stdin: 'short\n' });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /^Error: The password must be at least 8 characters/);
  const nowhere = await tether(['admin', 'reset-password', '--data-dir', path.join(dir, 'missing')]);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /holds no tether\.db/);
  const audit = await running.accounts.store.queryAudit({ limit: 10, action: 'user.reset-password' });
  assert.equal(audit.length, 2);
  assert.equal(audit[0]!.actor.kind, 'cli');
});

// Longer than the 30 s default: about twenty CLI processes, each a cold Node start on a shared machine.
test('tether users and endpoints export/import over REST; API commands honour TETHER_HOST and TETHER_HTTP_PORT', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const running = await start(t, await testConfig(dir));
  const env = { TETHER_HTTP_PORT: String(running.httpPort), TETHER_HOST: '127.0.0.1', TETHER_DATA_DIR: dir };

  const listed = await tether(['endpoints', 'list'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /No endpoints yet\. Create one with: npx tether endpoints create/);

  const added = await tether(['users', 'add', 'nina', '--role', 'operator'], { env });
  assert.equal(added.code, 0, added.stderr);
  const password = /Password \(shown only this once\): (\S+)/.exec(added.stdout)?.[1];
  assert.ok(password);
  await signIn(running, 'nina', password);
  assert.equal((await tether(['users', 'set-role', 'nina', '--role', 'viewer'], { env })).code, 0);
  assert.equal((await running.accounts.store.getUser('nina'))?.role, 'viewer');
  const reset = await tether(['users', 'reset-password', 'nina', '--stdin'], { env, stdin: 'nina-password-2\n' });
  assert.equal(reset.code, 0, reset.stderr);
  await signIn(running, 'nina', 'nina-password-2');
  const table = await tether(['users', 'list'], { env });
  assert.match(table.stdout, /^nina\s+viewer\s/m);
  assert.match((await tether(['users', 'set-role', 'nina', '--role', 'boss'], { env })).stderr, /use one of viewer, operator, admin/);
  assert.equal((await tether(['users', 'remove', 'nina'], { env })).code, 0);
  assert.equal(await running.accounts.store.getUser('nina'), undefined);

  await createEndpoint(running, { endpointId: 'e1', metadata: { model: 'A300', n: 1 } });
  await createEndpoint(running, { endpointId: 'e2', metadata: { model: '42' } });
  const file = path.join(dir, 'export.csv');
  const exported = await tether(['endpoints', 'export', '--app', 'demo_application', '--output', file], { env });
  assert.equal(exported.code, 0, exported.stderr);
  const csv = fs.readFileSync(file, 'utf8');
  assert.match(csv, /^endpointId,appVersion,createdDate,connected,lastSeen,metadata\.model,metadata\.n\n/);
  const toStdout = await tether(['endpoints', 'export', '--app', 'demo_application', '--format', 'json'], { env });
  assert.deepEqual(JSON.parse(toStdout.stdout).map((e: { endpointId: string }) => e.endpointId), ['e1', 'e2']);

  await running.services.registry.deleteEndpoint('e1');
  await running.services.registry.deleteEndpoint('e2');
  const tokensFile = path.join(dir, 'tokens.csv');
  const imported = await tether(['endpoints', 'import', '--file', file, '--tokens-out', tokensFile], { env });
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /2 endpoints created, 0 rows failed/);
  assert.match(fs.readFileSync(tokensFile, 'utf8'), /^line,endpointId,token,error\n2,e1,\S+,\n3,e2,\S+,\n$/);
  assert.equal(fs.statSync(tokensFile).mode & 0o077, 0, 'the tokens file is private');
  assert.deepEqual((await running.services.registry.getEndpoint('e2', true)).metadata, { model: '42' });

  const failing = await tether(['endpoints', 'import', '--file', file], { env });
  assert.equal(failing.code, 1);
  assert.match(failing.stderr, /line 2: ENDPOINT_CONFLICT/);
});

// Longer than the 30 s default: a Tether node on PostgreSQL and NATS, and CLI processes beside it.
test('a mistyped user name creates no account', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const first = await startTether(await testConfig(dir, [], { TETHER_ADMIN_PASSWORD: 'first-password' }), { logger: silentLogger });
  await first.stop();
  const typo = await tether(['admin', 'reset-password', '--user', 'admni', '--data-dir', dir]);
  assert.equal(typo.code, 1, typo.stdout);
  assert.match(typo.stderr, /^Error: Invalid --user "admni": there is no such user; did you mean "admin"\? \(users: admin\); to create it as an administrator, add --create/);
  assert.doesNotMatch(typo.stdout, /Created/);
  const again = await startTether(await testConfig(dir), { logger: silentLogger });
  t.after(() => again.stop());
  assert.equal(await again.accounts.store.getUser('admni'), undefined);
  assert.equal((await again.accounts.store.listUsers()).length, 1);
});

test('tether admin reset-password works on the PostgreSQL database of a cluster (TETHER_DATABASE_URL), ending the user\'s sessions', { timeout: 120_000 }, async (t) => {
  const { freshDatabase } = await import('../helpers/engines.js');
  const { openPostgresAccountStorage } = await import('../../src/storage/postgres/accounts.js');
  const database = await freshDatabase();
  t.after(() => database.drop());
  const store = await openPostgresAccountStorage({ url: database.url });
  t.after(() => store.close());
  const at = '2026-01-01T00:00:00.000Z';
  await store.insertUser({ username: 'admin', role: 'admin', passwordHash: '{}', createdDate: at, passwordChangedDate: at, lastSignInDate: null });
  await store.insertSession({ digest: 'd1', username: 'admin', createdDate: at, expiresDate: '2099-01-01T00:00:00.000Z' });

  const reset = await tether(['admin', 'reset-password', '--stdin'], { stdin: 'cluster-password-1\n', env: { TETHER_DATABASE_URL: database.url, TETHER_DATA_DIR: '/nonexistent' } });
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /Password reset for user "admin" in postgres:\/\//);
  const admin = await store.getUser('admin');
  assert.notEqual(admin?.passwordHash, '{}');
  assert.ok(admin!.passwordChangedDate > at);
  assert.equal(await store.getSession('d1'), undefined);
});

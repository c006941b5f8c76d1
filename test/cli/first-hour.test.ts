/** Issue 18's traps on the command line, each as a new user met it: the built CLI against a real `tether start`. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { assertOneLineError, setup, startServer, tempDir, tether } from './helpers.js';

/** Every command-like line a user is told to run, as printed. */
function suggestedCommands(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => /(^|\s)tether (start|device|endpoints|tokens|admin|users|config|commands)\b/.test(line));
}

test('a token starting with a dash works with --token', { timeout: 90_000 }, async (t) => {
  const { server, rest, createEndpoint } = await setup(t);
  const { endpointId } = await createEndpoint();
  const token = '-Abc_dash-first-token9';
  const issued = await rest<{ token: string }>('POST', `/cm/api/v1/endpoints/${endpointId}/tokens`, { token });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const device = await tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(server.mqttPort)]);
  assert.equal(device.code, 0, device.stderr);
  assert.match(device.stdout, new RegExp(`Using EP token ${token}, server at 127\\.0\\.0\\.1:${server.mqttPort}`));
  // An option where a value belongs is still a missing value.
  assertOneLineError(await tether(['device', '--token', '--host', '127.0.0.1']), /^Error: Invalid option --token: it needs a value/);
});

test('following the hint after endpoints create reaches the server that created the endpoint', { timeout: 90_000 }, async (t) => {
  const { server, api } = await setup(t);
  const created = await tether(['endpoints', 'create', ...api]);
  assert.equal(created.code, 0, created.stderr);
  const hint = /npx tether (device --token .*)$/m.exec(created.stdout)?.[1];
  assert.ok(hint, created.stdout);
  assert.match(hint, new RegExp(`--host 127\\.0\\.0\\.1 --port ${server.mqttPort}\\b`));
  const device = await tether(hint.split(' '));
  assert.equal(device.code, 0, device.stderr);
  assert.match(device.stdout, /accepted/);
});

test('every next-step command printed by start and endpoints create runs in a clone (npx tether)', { timeout: 90_000 }, async (t) => {
  const { server, api, createEndpoint } = await setup(t);
  const { endpointId } = await createEndpoint();
  const created = await tether(['endpoints', 'create', ...api]);
  const noTokens = await tether(['tokens', 'list', endpointId, ...api]);
  const printed = [...suggestedCommands(server.stdout()), ...suggestedCommands(created.stdout), ...suggestedCommands(noTokens.stdout)];
  assert.ok(printed.length >= 3, printed.join('\n'));
  for (const line of printed) assert.match(line, /(^|[\s:])npx tether /, `runs in a clone: ${line}`);
});

test('a mistyped command, action or option gets a did-you-mean', async () => {
  assertOneLineError(await tether(['endpoint', 'list']), /^Error: Unknown command "endpoint"\. Did you mean "npx tether endpoints"\?/);
  assertOneLineError(await tether(['endpoints', 'lsit']), /did you mean npx tether endpoints list\?/);
  assertOneLineError(await tether(['device', '--tokn', 'abc']), /^Error: Invalid option --tokn: there is no such option; did you mean --token\?/);
  assertOneLineError(await tether(['launch']), /^Error: Unknown command "launch"\. Commands:/);
});

test('a start that fails on a busy port writes nothing, and the next start prints the admin API key', { timeout: 90_000 }, async (t) => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as net.AddressInfo).port;
  const dataDir = path.join(tempDir(t), 'data');
  const failed = await tether(['start', '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', String(port), '--data-dir', dataDir], { TETHER_LOG_LEVEL: 'warn' });
  assertOneLineError(failed, new RegExp(`^Error: HTTP port ${port} is in use`));
  assert.equal(fs.existsSync(dataDir), false, 'the data directory is not created by a failed start');
  const server = await startServer(t, dataDir);
  assert.match(server.stdout(), /Admin API key[^\n]*\n {2}\S+/);
  assert.match(server.stdout(), /user admin, password \S+/);
});

test('pointing the device at the HTTP port, or the API at the MQTT port, names the protocol that port speaks', { timeout: 90_000 }, async (t) => {
  const { server, dataDir } = await setup(t);
  const device = await tether(['device', '--token', 'abc', '--host', '127.0.0.1', '--port', String(server.httpPort)]);
  assert.equal(device.code, 1);
  assert.match(device.stderr, new RegExp(`port ${server.httpPort} speaks HTTP \\(Tether's dashboard and REST API\\), not MQTT; the MQTT port of this Tether is ${server.mqttPort}: use --port ${server.mqttPort}`));
  assert.doesNotMatch(device.stderr, /header flag bits/);
  assertOneLineError(
    await tether(['endpoints', 'list', '--api', `http://127.0.0.1:${server.mqttPort}`, '--data-dir', dataDir]),
    new RegExp(`^Error: Cannot reach the Tether API at http://127\\.0\\.0\\.1:${server.mqttPort} \\(port ${server.mqttPort} speaks MQTT, not HTTP; the dashboard and REST API port is 8080 unless`),
  );
});

test('npx tether api-keys creates, lists and revokes a key, and npx tether audit lists who did it', { timeout: 90_000 }, async (t) => {
  const { api, server } = await setup(t);
  const created = await tether(['api-keys', 'create', 'ci', '--role', 'viewer', ...api]);
  assert.equal(created.code, 0, created.stderr);
  const key = /shown only this once\):\n {2}(\S+)/.exec(created.stdout)?.[1];
  const keyId = /key ID (\S+)\)/.exec(created.stdout)?.[1];
  assert.ok(key && keyId, created.stdout);
  const asViewer = await tether(['endpoints', 'list', '--api', `http://127.0.0.1:${server.httpPort}`, '--api-key', key]);
  assert.equal(asViewer.code, 0, asViewer.stderr);
  const listed = await tether(['api-keys', 'list', ...api]);
  assert.match(listed.stdout, new RegExp(`^${keyId}\\s+ci\\s+viewer\\s+ACTIVE`, 'm'));
  const revoked = await tether(['api-keys', 'revoke', keyId, ...api]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assertOneLineError(await tether(['endpoints', 'list', '--api', `http://127.0.0.1:${server.httpPort}`, '--api-key', key]), /^Error: The API key "ci" was revoked on /);

  const audit = await tether(['audit', 'list', '--action', 'api-key.revoke', ...api]);
  assert.equal(audit.code, 0, audit.stderr);
  assert.match(audit.stdout, /^ID\s+AT\s+WHO\s+ACTION/m);
  assert.match(audit.stdout, /bootstrap \(admin\)\s+api-key\.revoke/);
  const all = JSON.parse((await tether(['audit', 'list', '--json', '--limit', '10', ...api])).stdout) as { content: Array<{ action: string }> };
  assert.deepEqual(all.content.map((e) => e.action).slice(0, 2), ['api-key.revoke', 'api-key.create']);
  assertOneLineError(await tether(['audit', 'list', '--from', 'yesterday', ...api]), /^Error: Invalid --from "yesterday": use an ISO date-time/);
});

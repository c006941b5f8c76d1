/**
 * `tether config`, `tether commands` and `tether device --observe` as a user runs them: child
 * processes against a real `tether start` with its admin API key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/services.js';
import { assertOneLineError, background, startServer, tempDir, tether } from './helpers.js';
import type { Server } from './helpers.js';

interface Setup {
  server: Server;
  dataDir: string;
  api: string[];
  key: string;
  rest: <T>(method: string, route: string, body?: unknown) => Promise<{ status: number; body: T }>;
  createEndpoint: () => Promise<{ endpointId: string; token: string }>;
}

async function setup(t: { after(fn: () => unknown): void }): Promise<Setup> {
  const dataDir = tempDir(t);
  const server = await startServer(t, dataDir);
  const key = fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
  const base = `http://127.0.0.1:${server.httpPort}`;
  const rest = async <T>(method: string, route: string, body?: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  const createEndpoint = async () => {
    const created = await rest<{ endpointId: string; token: string }>('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  };
  return { server, dataDir, api: ['--api', base, '--data-dir', dataDir], key, rest, createEndpoint };
}

test('tether config set, get, delete and statuses, for an endpoint, a default and a named configuration', async (t) => {
  const { api, dataDir, createEndpoint } = await setup(t);
  const { endpointId } = await createEndpoint();

  const set = await tether(['config', 'set', '--endpoint', endpointId, '--config', '{"interval": 30}', ...api]);
  assert.equal(set.code, 0, set.stderr);
  const configId = /Config ID:\s+(\S+)/.exec(set.stdout)?.[1];
  assert.ok(configId, set.stdout);
  assert.match(set.stdout, new RegExp(`default configuration of endpoint ${endpointId} \\(version demo_application_v1\\)`), 'the version is the endpoint\'s');

  const got = await tether(['config', 'get', '--endpoint', endpointId, ...api]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, new RegExp(`Config ID:\\s+${configId}`));
  assert.match(got.stdout, /"interval": 30/);
  const asJson = await tether(['config', 'get', '--endpoint', endpointId, '--app-version', 'demo_application_v1', '--json', ...api]);
  assert.deepEqual(JSON.parse(asJson.stdout), { ...JSON.parse(asJson.stdout), configId, name: 'default', config: { interval: 30 } });

  // The same document again has the same configId (a content hash).
  const again = await tether(['config', 'set', '--endpoint', endpointId, '--config', '{"interval":30}', '--json', ...api]);
  assert.equal((JSON.parse(again.stdout) as { configId: string }).configId, configId);

  // A version's default from a file, and a named configuration.
  const file = path.join(dataDir, 'default.json');
  fs.writeFileSync(file, '{"interval": 60, "mode": "eco"}');
  const setDefault = await tether(['config', 'set', '--default', '--app-version', 'demo_application_v1', '--file', file, ...api]);
  assert.equal(setDefault.code, 0, setDefault.stderr);
  assert.match(setDefault.stdout, /default configuration of application version demo_application_v1/);
  const gotDefault = await tether(['config', 'get', '--default', '--app-version', 'demo_application_v1', '--json', ...api]);
  assert.deepEqual((JSON.parse(gotDefault.stdout) as { config: unknown }).config, { interval: 60, mode: 'eco' });
  const named = await tether(['config', 'set', '--endpoint', endpointId, '--name', 'night', '--config', '{"dim": true}', ...api]);
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stdout, /configuration "night" of endpoint/);
  const gotNamed = await tether(['config', 'get', '--endpoint', endpointId, '--name', 'night', '--json', ...api]);
  assert.deepEqual(JSON.parse(gotNamed.stdout), { ...JSON.parse(gotNamed.stdout), name: 'night', config: { dim: true } });

  const listed = await tether(['config', 'list', '--endpoint', endpointId, ...api]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^default\\s+${configId}\\s+\\S+\\s+\\{"interval":30\\}$`, 'm'));
  assert.match(listed.stdout, /^night\s+[0-9a-f]{32}\s+\S+\s+\{"dim":true\}$/m);
  const defaults = await tether(['config', 'list', '--default', '--app-version', 'demo_application_v1', '--json', ...api]);
  assert.deepEqual((JSON.parse(defaults.stdout) as Array<{ name: string }>).map((c) => c.name), ['default']);

  // No device has connected: nothing dispatched yet.
  const none = await tether(['config', 'statuses', '--endpoint', endpointId, ...api]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /No configuration was dispatched to endpoint/);

  const deleted = await tether(['config', 'delete', '--endpoint', endpointId, ...api]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /Configuration deleted/);
  assertOneLineError(await tether(['config', 'get', '--endpoint', endpointId, ...api]), /^Error: The default configuration of endpoint .* has no configuration/);

  // Mistakes are one line that says what to do.
  assertOneLineError(await tether(['config', 'set', '--endpoint', endpointId, '--config', '{interval: 1}', ...api]), /^Error: Invalid --config: it is not JSON/);
  assertOneLineError(await tether(['config', 'set', '--endpoint', endpointId, ...api]), /--config '<json>' or --file <path>/);
  assertOneLineError(await tether(['config', 'get', '--default', ...api]), /--default needs the application version/);
  assertOneLineError(await tether(['config', 'get', '--endpoint', 'no-such-endpoint', ...api]), /^Error: Endpoint "no-such-endpoint" does not exist/);
  assertOneLineError(await tether(['config', 'frobnicate']), /use get, set, delete, list or statuses/);
});

test('tether device --observe gets a configuration set over REST and reports it applied, answers echo and reboot, and 501 for the rest', async (t) => {
  const { server, api, rest, createEndpoint } = await setup(t);
  const { endpointId, token } = await createEndpoint();
  const device = background(t, ['device', '--token', token, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--observe', '--reboot-delay', '200']);
  await device.waitFor(/Observing the configuration: sent \{"observe":true\} to kp1\/demo_application_v1\/cmx\/\S+\/config\/json\/\d+/, 'the observe request');
  await device.waitFor(/No configuration set yet/, 'the reply: no configuration yet');

  // Set over Kaa's ECR path: pushed to the live session, which reports it applied.
  const put = await rest<{ configId: string }>('PUT', `/ecr/api/v1/endpoints/${endpointId}/app-versions/demo_application_v1?name=default`, { interval: 5 });
  assert.equal(put.status, 200);
  const { configId } = put.body;
  await device.waitFor(new RegExp(`Configuration received on kp1/demo_application_v1/cmx/${token}/config/json/status: configId ${configId}`), 'the pushed configuration');
  assert.match(device.output(), /INFO: Config: \{"interval":5\}/);
  await device.waitFor(new RegExp(`Reported configuration applied on kp1/demo_application_v1/cmx/${token}/applied/json/\\d+: \\{"configId":"${configId}","statusCode":200`), 'the applied report');
  let statuses = '';
  await waitFor(async () => {
    statuses = (await tether(['config', 'statuses', '--endpoint', endpointId, ...api])).stdout;
    return new RegExp(`default\\s+${configId}\\s+APPLIED\\s+\\S+\\s+\\S+\\s+200`).test(statuses);
  }, 'status APPLIED', 10_000);

  // echo over Kaa's CEX path: the device answers within awaitTimeout, so 200 with its result.
  const echoed = await rest<{ status: string; statusCode: number; responsePayload: unknown }>('POST', `/cex/api/v1/endpoints/${endpointId}/commands/echo?awaitTimeout=10`, { hello: 'device' });
  assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
  assert.deepEqual({ status: echoed.body.status, statusCode: echoed.body.statusCode, responsePayload: echoed.body.responsePayload }, { status: 'EXECUTED', statusCode: 200, responsePayload: { hello: 'device' } });
  assert.match(device.output(), /Command received on kp1\/demo_application_v1\/cex\/\S+\/command\/echo\/status: echo #\d+ payload \{"hello":"device"\}/);

  // The same through the CLI: exit 0 with the status code and the response; a text payload stays text.
  const sent = await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'echo', '--payload', 'ping', '--wait', '10', ...api]);
  assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  assert.match(sent.stdout, /: EXECUTED\n {2}Status code: 200 OK\n {2}Response: {4}"ping"/);
  const unsupported = await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'selfdestruct', '--wait', '10', ...api]);
  assert.equal(unsupported.code, 1, 'a non-2xx result exits 1');
  assert.match(unsupported.stdout, /EXECUTED\n {2}Status code: 501 unsupported command/);

  const listed = await tether(['commands', 'list', '--endpoint', endpointId, '--type', 'echo', ...api]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout.trim().split('\n').length, 3, `a header and two echo commands:\n${listed.stdout}`);
  assert.match(listed.stdout, /EXECUTED\s+200 OK/);

  // A batch with --watch ends once nothing is pending.
  const batch = await tether(['commands', 'batch', '--type', 'echo', '--endpoints', endpointId, '--payload', '{"n": 1}', '--watch', ...api]);
  assert.equal(batch.code, 0, batch.stdout + batch.stderr);
  assert.match(batch.stdout, /^Batch task \S+ started\.$/m);
  assert.match(batch.stdout, /1 executed, 0 pending, 0 expired of 1\nDone: 1 succeeded, 0 answered with a failure code, 0 expired\./);

  // reboot: the result is stored, the device goes away and comes back, still observing.
  const reboot = await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'reboot', '--wait', '10', ...api]);
  assert.equal(reboot.code, 0, reboot.stdout + reboot.stderr);
  await device.waitFor(/Reconnecting after the reboot\.\.\.\nINFO: Successfully connected/, 'the reconnection');
  await device.waitFor(new RegExp(`sent \\{"observe":true,"configId":"${configId}"\\}`), 'the observe request naming the applied configuration');
  await device.waitFor(/Configuration unchanged/, 'the {} reply');
  const afterReboot = await rest<{ status: string; responsePayload: unknown }>('POST', `/cex/api/v1/endpoints/${endpointId}/commands/echo?awaitTimeout=10`, 42);
  assert.equal(afterReboot.status, 200);
  assert.equal(afterReboot.body.responsePayload, 42);

  assert.equal(await device.stop(), 0);
  assert.match(device.output(), /INFO: Disconnected from server/);
});

test('tether commands send without a device answers PENDING with exit 2; batch --watch follows it until it expires', async (t) => {
  const { server, api, createEndpoint } = await setup(t);
  const { endpointId } = await createEndpoint();
  const other = await createEndpoint();

  const pending = await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'echo', '--payload', '{"a":1}', '--wait', '1', ...api]);
  assert.equal(pending.code, 2, pending.stdout + pending.stderr);
  assert.match(pending.stdout, /: PENDING\n {2}No result within 1 s/);
  const asJson = await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'echo', '--wait', '0', '--json', ...api]);
  assert.equal(asJson.code, 2);
  assert.equal((JSON.parse(asJson.stdout) as { status: string }).status, 'PENDING');
  const listed = await tether(['commands', 'list', '--endpoint', endpointId, ...api]);
  assert.equal(listed.stdout.match(/PENDING/g)?.length, 2, listed.stdout);

  // Nobody answers: the watch ends when the TTL ran out, and says so with exit 1.
  const batch = await tether(['commands', 'batch', '--type', 'echo', '--endpoints', `${endpointId},${other.endpointId}`, '--ttl', '1500', '--watch', ...api]);
  assert.equal(batch.code, 1, batch.stdout + batch.stderr);
  assert.match(batch.stdout, /0 executed, 2 pending, 0 expired of 2/);
  assert.match(batch.stdout, /0 executed, 0 pending, 2 expired of 2\nDone: 0 succeeded, 0 answered with a failure code, 2 expired\./);

  // By the Endpoint List's query: every endpoint of the application.
  const byApp = await tether(['commands', 'batch', '--type', 'echo', '--app', 'demo_application', '--json', ...api]);
  assert.equal(byApp.code, 0, byApp.stderr);
  assert.match((JSON.parse(byApp.stdout) as { taskId: string }).taskId, /^[0-9a-f-]{36}$/);

  assertOneLineError(await tether(['commands', 'batch', '--type', 'echo', '--app', 'demo_application', '--filter', 'model=A300', ...api]), /the search matches no endpoint/);

  // A refused token does not get better by reconnecting: the observing device exits 1.
  const refused = background(t, ['device', '--token', 'no-such-token', '--host', '127.0.0.1', '--port', String(server.mqttPort), '--observe']);
  assert.equal(await refused.exit(), 1, refused.output());
  assert.match(refused.output(), /ERROR: Configuration request refused .*"statusCode":401/);
  assertOneLineError(await tether(['commands', 'send', '--endpoint', endpointId, ...api]), /--type is missing/);
  assertOneLineError(await tether(['commands', 'send', '--endpoint', endpointId, '--type', 'echo', '--wait', '61', ...api]), /wait at most 60 seconds/);
  assertOneLineError(await tether(['commands', 'batch', '--type', 'echo', ...api]), /--endpoints <id,id,...> or --app <application>/);
  assertOneLineError(await tether(['commands', 'send', '--endpoint', 'nope', '--type', 'echo', ...api]), /^Error: Endpoint "nope" does not exist/);
});

test('--help lists config and commands, each with its own help', async () => {
  const help = await tether(['--help']);
  for (const command of ['config', 'commands']) assert.match(help.stdout, new RegExp(`^  ${command}\\s`, 'm'));
  const commands = await tether(['commands', '--help']);
  assert.equal(commands.code, 0);
  assert.match(commands.stdout, /Exit codes: 0 the device executed it with a 2xx status code; 2 still PENDING/);
  const device = await tether(['device', '--help']);
  assert.match(device.stdout, /--observe/);
});

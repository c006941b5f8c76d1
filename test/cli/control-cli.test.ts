/**
 * `tether device --observe` and `tether commands` as a user runs them: child processes against a
 * real `tether start` with its admin API key.
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';
import { assertOneLineError, background, setup, tether } from './helpers.js';

// Longer than the 30 s default: a `tether start` process and a dozen CLI processes, each a cold Node start.
test('tether device --observe gets a configuration set over REST and reports it applied, answers echo and reboot, and 501 for the rest', { timeout: 120_000 }, async (t) => {
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
  await waitFor('status APPLIED', async () => {
    statuses = (await tether(['config', 'statuses', '--endpoint', endpointId, ...api])).stdout;
    return new RegExp(`default\\s+${configId}\\s+APPLIED\\s+\\S+\\s+\\S+\\s+200`).test(statuses);
  }, 10_000);

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

// Longer than the 30 s default: a `tether start` process and a dozen CLI processes, each a cold Node start.
test('tether commands send without a device answers PENDING with exit 2; batch --watch follows it until it expires', { timeout: 120_000 }, async (t) => {
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

/** `tether config` as a user runs it: child processes against a real `tether start` with its admin API key. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { assertOneLineError, setup, tether } from './helpers.js';

// Longer than the 30 s default: a `tether start` process and a dozen CLI processes, each a cold Node start.
test('tether config set, get, delete and statuses, for an endpoint, a default and a named configuration', { timeout: 120_000 }, async (t) => {
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

  // --if-match: written only while the configuration is still the one read.
  const stale = await tether(['config', 'set', '--endpoint', endpointId, '--config', '{"interval": 45}', '--if-match', 'f'.repeat(32), ...api]);
  assertOneLineError(stale, new RegExp(`^Error: The configuration changed since you read it \\(its ETag is now "${configId}"\\)`));
  const fresh = await tether(['config', 'set', '--endpoint', endpointId, '--config', '{"interval": 30}', '--if-match', configId, ...api]);
  assert.equal(fresh.code, 0, fresh.stderr);

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

test('--help lists config and commands, each with its own help', async () => {
  const help = await tether(['--help']);
  for (const command of ['config', 'commands']) assert.match(help.stdout, new RegExp(`^  ${command}\\s`, 'm'));
  const commands = await tether(['commands', '--help']);
  assert.equal(commands.code, 0);
  assert.match(commands.stdout, /Exit codes: 0 the device executed it with a 2xx status code; 2 still PENDING/);
  const device = await tether(['device', '--help']);
  assert.match(device.stdout, /--observe/);
});

/**
 * `tether software`, `tether rollout` and `tether device --ota` as a user runs them: child
 * processes against a real `tether start` with its admin API key (docs/software.md).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';
import { assertOneLineError, background, setup, tempDir, tether } from './helpers.js';

const APP = 'demo_application';

test('software create, upload, list, show, update, delete over the REST API; mistakes are one-line errors', { timeout: 120_000 }, async (t) => {
  const { api } = await setup(t);
  const dir = tempDir(t);
  const file = path.join(dir, 'firmware-1.1.0.bin');
  const bytes = randomBytes(300_000);
  fs.writeFileSync(file, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  const created = await tether(['software', 'create', APP, '1.1.0', '--upgradable-from', '1.0.x,1.0.0-rc.1', '--spec', '{"notes": "fixes"}', ...api]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^Software version created: demo_application 1\.1\.0 \(suspended\)\.$/m);

  const uploaded = await tether(['software', 'upload', APP, '1.1.0', file, ...api]);
  assert.equal(uploaded.code, 0, uploaded.stderr);
  assert.match(uploaded.stdout, /Package uploaded for demo_application 1\.1\.0: firmware-1\.1\.0\.bin, 293\.0 KiB/);
  assert.match(uploaded.stdout, new RegExp(`SHA-256: ${sha256}`));

  const shown = await tether(['software', 'show', APP, '1.1.0', '--json', ...api]);
  assert.equal(shown.code, 0, shown.stderr);
  const record = JSON.parse(shown.stdout) as { upgradableFrom: string[]; specification: unknown; rolloutStrategy: string };
  assert.deepEqual(record.upgradableFrom, ['1.0.x', '1.0.0-rc.1']);
  assert.deepEqual(record.specification, { notes: 'fixes' });

  // update keeps what it is not given.
  const updated = await tether(['software', 'update', APP, '1.1.0', '--strategy', 'general', ...api]);
  assert.equal(updated.code, 0, updated.stderr);
  const after = JSON.parse((await tether(['software', 'show', APP, '1.1.0', '--json', ...api])).stdout) as typeof record;
  assert.equal(after.rolloutStrategy, 'general');
  assert.deepEqual(after.specification, { notes: 'fixes' });

  const listed = await tether(['software', 'list', APP, ...api]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^VERSION\s+STRATEGY\s+UPGRADES\s+PACKAGE\s+UPDATED$/m);
  assert.match(listed.stdout, /^1\.1\.0\s+general\s+1\.0\.x, 1\.0\.0-rc\.1\s/m);

  assertOneLineError(await tether(['software', 'create', APP, '1.1.0', ...api]), /already has software version "1\.1\.0"/);
  assertOneLineError(await tether(['software', 'create', APP, ...api]), /the version is missing; use npx tether software create <application> <version>/);
  assertOneLineError(await tether(['software', 'create', APP, '1.2.0', '--spec', '{nope', ...api]), /--spec.*not JSON/);
  assertOneLineError(await tether(['software', 'create', APP, '1.2.0', '--strategy', 'everyone', ...api]), /use suspended, targeted, general/);
  assertOneLineError(await tether(['software', 'upload', APP, '1.1.0', path.join(dir, 'missing.bin'), ...api]), /cannot be read \(ENOENT\)/);
  assertOneLineError(await tether(['software', 'show', APP, '9.9.9', ...api]), /no software version "9\.9\.9"/);

  const deleted = await tether(['software', 'delete', APP, '1.1.0', ...api]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match((await tether(['software', 'list', APP, ...api])).stdout, /No software versions of demo_application yet/);
});

test('device --ota reports its version, takes the offered update, downloads the package with a Range resume and reports the new version', { timeout: 120_000 }, async (t) => {
  const { server, api, rest, createEndpoint } = await setup(t);
  const dir = tempDir(t);
  const file = path.join(dir, 'pkg.bin');
  fs.writeFileSync(file, randomBytes(200_000));
  assert.equal((await tether(['software', 'create', APP, '1.1.0', '--upgradable-from', '1.0.x', '--strategy', 'general', ...api])).code, 0);
  assert.equal((await tether(['software', 'upload', APP, '1.1.0', file, ...api])).code, 0);
  const { endpointId, token } = await createEndpoint();

  const device = background(t, ['device', '--ota', '--token', token, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--current-version', '1.0.3', '--interrupt-at', '50000', '--until-updated']);
  await device.waitFor(new RegExp(`Reported the current software version on kp1/demo_application_v1/cmx_ota/${token}/applied/json: \\{"configId":"1\\.0\\.3"\\}`), 'the version report');
  await device.waitFor(/Software update offered on \S+: version 1\.1\.0/, 'the offer', 20_000);
  await device.waitFor(/Download interrupted: the transfer broke after 50000 bytes/, 'the broken transfer', 20_000);
  await device.waitFor(/Downloading \S+ from byte 50000 \(Range\)/, 'the resumed download', 20_000);
  await device.waitFor(/Updated to 1\.1\.0: package size and SHA-256 checked/, 'the update', 20_000);
  assert.equal(await device.exit(), 0, device.output());
  assert.doesNotMatch(device.output(), /sig=[0-9a-f]{8}|token=[A-Za-z0-9_-]{8}/, 'no secrets of the URL in the log');

  let state: { version: string | null } = { version: null };
  await waitFor('the endpoint running 1.1.0', async () => {
    state = (await rest<{ version: string | null }>('GET', `/otao/api/v1/endpoints/${endpointId}/software`)).body;
    return state.version === '1.1.0';
  }, 10_000);
});

test('rollout start --watch to simulated devices, one of which fails: the failure with its reason, exit 1; show, list', { timeout: 120_000 }, async (t) => {
  const { server, api, createEndpoint } = await setup(t);
  assert.equal((await tether(['software', 'create', APP, '2.0.0', '--upgradable-from', '*', ...api])).code, 0);
  const good = [await createEndpoint(), await createEndpoint()];
  const bad = await createEndpoint();
  const mqtt = ['--host', '127.0.0.1', '--port', String(server.mqttPort)];
  const goodFile = path.join(tempDir(t), 'tokens.txt');
  fs.writeFileSync(goodFile, `${good.map((e) => e.token).join('\n')}\n`);
  const fleet = background(t, ['device', '--ota', '--tokens-file', goodFile, ...mqtt]);
  const failing = background(t, ['device', '--ota', '--token', bad.token, '--fail-rate', '1', ...mqtt]);
  await fleet.waitFor(/Asked for a software update[^\n]*\n[\s\S]*Asked for a software update/, 'both devices asking');
  await failing.waitFor(/Asked for a software update/, 'the failing device asking');

  const ids = [...good, bad].map((e) => e.endpointId).join(',');
  const started = await tether(['rollout', 'start', APP, '2.0.0', '--endpoints', ids, '--abort-percent', '50', '--abort-min', '3', '--watch', '--deadline', '30', ...api]);
  assert.equal(started.code, 1, `a failed device: exit 1\n${started.stdout}${started.stderr}`);
  const id = /^Rollout (\S+) of demo_application 2\.0\.0 started \(3 devices targeted\)\.$/m.exec(started.stdout)?.[1];
  assert.ok(id, started.stdout);
  assert.match(started.stdout, /completed: 2 applied, 1 failed, 0 timed out, 0 offered, 0 pending of 3/);
  assert.match(started.stdout, new RegExp(`Failed devices:\\n {2}${bad.endpointId}: failed: simulated failure \\(--fail-rate\\)`));
  assert.match(failing.output(), /Update to 2\.0\.0 failed: simulated failure \(--fail-rate\); reported statusCode 500/);

  const shown = await tether(['rollout', 'show', id, ...api]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /Target: {2}3 endpoints/);
  assert.match(shown.stdout, /Abort: {3}over 50 % failed of at least 3/);
  const listed = await tether(['rollout', 'list', APP, ...api]);
  assert.match(listed.stdout, new RegExp(`^${id}\\s+2\\.0\\.0\\s+completed\\s+2 applied, 1 failed`, 'm'));
  // Over: pausing it is refused with the reason.
  assertOneLineError(await tether(['rollout', 'pause', id, ...api]), /is completed/);
  await fleet.stop();
  await failing.stop();
});

test('rollout and device --ota mistakes are one-line errors before anything is sent', async () => {
  const none = ['--api', 'http://127.0.0.1:9', '--api-key', 'x'];
  assertOneLineError(await tether(['rollout', 'start', APP, '1.0.0', ...none]), /name the target once: --app-version <name>, --endpoints/);
  assertOneLineError(await tether(['rollout', 'start', APP, '1.0.0', '--app-version', 'v1', '--endpoints', 'a', ...none]), /name the target once/);
  assertOneLineError(await tether(['rollout', 'start', APP, '1.0.0', '--app-version', 'v1', '--growth-factor', '2', ...none]), /grow a rate: add --per-minute/);
  assertOneLineError(await tether(['rollout', 'start', APP, '1.0.0', '--app-version', 'v1', '--abort-percent', '10', ...none]), /needs both --abort-percent <p> and --abort-min <n>/);
  assertOneLineError(await tether(['rollout', 'start', APP, '1.0.0', '--app-version', 'v1', '--abort-percent', '150', '--abort-min', '1', ...none]), /--abort-percent "150".*at most 100/);
  assertOneLineError(await tether(['rollout', 'watch', ...none]), /the rolloutId is missing/);
  assertOneLineError(await tether(['rollout', 'halt', 'x', ...none]), /rollout action "halt"/);
  assertOneLineError(await tether(['device', '--ota']), /the endpoint token is missing; use npx tether device --ota --token <token>, or --devices <n>/);
  assertOneLineError(await tether(['device', '--ota', '--token', 'abc', '--fail-rate', '2']), /--fail-rate "2".*share from 0 to 1/);
  assertOneLineError(await tether(['device', '--ota', '--token', 'abc', '--observe']), /--observe belongs to another mode/);
  assertOneLineError(await tether(['device', '--token', 'abc', '--fail-rate', '0.5']), /--fail-rate belongs to software update mode; add --ota/);
  assertOneLineError(await tether(['device', '--ota', '--token', 'abc', '--devices', '3']), /--token is one device/);
});

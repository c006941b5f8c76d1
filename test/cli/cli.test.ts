/** The built `tether` command as a user runs it: child processes, real ports, a temp data dir. */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { assertOneLineError, startServer, tempDir, tether } from './helpers.js';

// Longer than the 30 s default: a `tether start` process and a dozen CLI processes, each a cold Node start.
test('start, endpoints create/list/get, device, tokens, then SIGTERM exits 0', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const server = await startServer(t, dataDir);
  const banner = server.stdout();
  const key = fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
  assert.ok(banner.includes(key), 'the generated admin API key is printed on first start');
  assert.match(banner, /Client authentication: anonymous/);
  assert.match(banner, new RegExp(`npx tether endpoints create --app-version demo_application_v1 --api http://127\\.0\\.0\\.1:${server.httpPort}`));
  assert.match(banner, new RegExp(`npx tether device --token <token> --host 127\\.0\\.0\\.1 --port ${server.mqttPort}`));
  // First-start secrets stand apart from everything else, with the way back in.
  assert.match(banner, /\n={78}\nDashboard sign-in \(generated now and shown only this once\):\n {2}user admin, password \S+\n\nAdmin API key[^\n]*\n {2}\S+\nWrite these down now\. Lost the password later\? npx tether admin reset-password\n={78}\n/);
  assert.match(banner, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/epr\/api\/v1\/endpoints -H "Authorization: Bearer \$\(cat /);

  const api = ['--api', `http://127.0.0.1:${server.httpPort}`, '--data-dir', dataDir];
  const created = await tether(['endpoints', 'create', '--app-version', 'demo_application_v1', ...api]);
  assert.equal(created.code, 0, created.stderr);
  const token = /Token:\s+(\S+)/.exec(created.stdout)?.[1];
  const endpointId = /Endpoint ID:\s+(\S+)/.exec(created.stdout)?.[1];
  assert.ok(token && endpointId, created.stdout);
  assert.match(created.stdout, new RegExp(`tether device --token ${token}`));

  const device = await tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--request-id', '1']);
  assert.equal(device.code, 0, device.stderr);
  const lines = device.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.replace(/:.*/, '')), ['INFO', 'DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO']);
  assert.equal(lines[0], `INFO: Using EP token ${token}, server at 127.0.0.1:${server.mqttPort}`);
  assert.equal(lines[1], `DEBUG: Composed metadata topic: kp1/demo_application_v1/epmx/${token}/update/keys/1`);
  assert.equal(lines[2], `INFO: Connecting to KPC instance at 127.0.0.1:${server.mqttPort}...`);
  assert.equal(lines[3], 'INFO: Successfully connected');
  assert.equal(lines[4], 'INFO: Sent metadata: {"model": "MySmartMeter A300", "mac": "00-14-22-01-23-45"} (waiting for the server\'s reply)');
  assert.match(lines[5]!, /accepted .*\/update\/keys\/1\/status/);
  assert.equal(lines[6], `INFO: Disconnecting from server at 127.0.0.1:${server.mqttPort}.`);
  assert.equal(lines[7], 'INFO: Successfully disconnected');

  const listed = await tether(['endpoints', 'list', '--metadata', '--json', ...api]);
  assert.equal(listed.code, 0, listed.stderr);
  const page = JSON.parse(listed.stdout) as { totalElements: number; content: Array<{ endpointId: string; metadata: unknown }> };
  assert.equal(page.totalElements, 1);
  assert.deepEqual(page.content[0], { ...page.content[0], endpointId, metadata: { model: 'MySmartMeter A300', mac: '00-14-22-01-23-45' } });

  const table = await tether(['endpoints', 'list', ...api]);
  assert.match(table.stdout, new RegExp(`${endpointId}\\s+demo_application_v1\\s+no`));

  const shown = await tether(['endpoints', 'get', endpointId, ...api]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /"model": "MySmartMeter A300"/);

  const tokens = await tether(['tokens', 'list', endpointId, '--json', ...api]);
  const [first] = JSON.parse(tokens.stdout) as Array<{ tokenId: string; status: string }>;
  assert.equal(first?.status, 'ACTIVE');
  const suspended = await tether(['tokens', 'suspend', endpointId, first.tokenId, ...api]);
  assert.equal(suspended.code, 0, suspended.stderr);
  assert.match(suspended.stdout, /is now SUSPENDED/);

  // An /error reply (suspended token: 403) makes the device exit non-zero.
  const refused = await tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--show-replies']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ERROR: Server rejected the request .*: 403 /);

  const missing = await tether(['endpoints', 'get', 'no-such-endpoint', ...api]);
  assertOneLineError(missing, /^Error: Endpoint "no-such-endpoint" does not exist/);

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  assert.match(server.stdout(), /Stopped\./);
});

// Longer than the 30 s default: two `tether start` processes one after the other.
test('a second start on the same data dir does not print the admin API key again', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t, 'tether-cli-');
  const first = await startServer(t, dataDir);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);
  const key = fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
  const second = await startServer(t, dataDir);
  assert.ok(!second.stdout().includes(key));
  assert.doesNotMatch(second.stdout(), /user admin, password/);
  assert.match(second.stdout(), /Lost a password\? Run \(also while Tether runs\):\n\s+npx tether admin reset-password --user admin --data-dir /);
  assert.match(second.stdout(), /Bearer \$\(cat /, 'the curl line reads the key from its file instead');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('start-up errors are one line with exit code 1', async (t) => {
  const dataDir = tempDir(t, 'tether-cli-');
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const busy = (blocker.address() as net.AddressInfo).port;

  // At log level warn, a clean failure writes nothing but its one line to stderr.
  const inUse = await tether(['start', '--host', '127.0.0.1', '--mqtt-port', String(busy), '--http-port', '0', '--data-dir', dataDir], { TETHER_LOG_LEVEL: 'warn' });
  assertOneLineError(inUse, new RegExp(`^Error: MQTT port ${busy} is in use\\. Start with --mqtt-port <port> \\(or TETHER_MQTT_PORT\\)\\.$`));

  assertOneLineError(await tether(['start', '--mqtt-port', 'abc']), /^Error: Invalid --mqtt-port "abc": use a port number from 0 to 65535/);
  assertOneLineError(await tether(['start'], { TETHER_LOG_LEVEL: 'loud' }), /^Error: Invalid TETHER_LOG_LEVEL "loud"/);
});

test('client commands fail in one line when the server or key is missing', async (t) => {
  const dataDir = tempDir(t, 'tether-cli-');
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(p));
    });
  });
  assertOneLineError(await tether(['endpoints', 'list', '--data-dir', dataDir, '--api', `http://127.0.0.1:${port}`]), /^Error: No admin API key/);
  assertOneLineError(
    await tether(['endpoints', 'list', '--api-key', 'x'.repeat(20), '--api', `http://127.0.0.1:${port}`]),
    /^Error: Cannot reach the Tether API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
  );
  const device = await tether(['device', '--token', 'abc', '--host', '127.0.0.1', '--port', String(port)]);
  assert.equal(device.code, 1);
  assert.match(device.stderr, /ERROR: Cannot connect to the MQTT server at 127\.0\.0\.1:\d+ \(connection refused\)/);
  assertOneLineError(await tether(['device']), /--token/);
  assertOneLineError(await tether(['endpoints', 'frobnicate']), /use create, list, get, delete, export or import/);
  assertOneLineError(await tether(['launch']), /^Error: Unknown command "launch"/);
});

test('--help lists the commands and each command has its own help', async () => {
  const help = await tether(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['start', 'device', 'endpoints', 'tokens']) assert.match(help.stdout, new RegExp(`^  ${command}\\s`, 'm'));
  const start = await tether(['start', '--help']);
  assert.equal(start.code, 0);
  assert.match(start.stdout, /--mqtt-port <port>\s+TETHER_MQTT_PORT/);
  const device = await tether(['device', '--help']);
  assert.match(device.stdout, /--request-id <n>/);
  const tokens = await tether(['tokens', '--help']);
  assert.match(tokens.stdout, /tether tokens revoke <endpointId> <tokenId>/);
});

/** `tether start` with TLS, as a user runs it: the banner lists the endpoints, SIGHUP reloads, bad files fail in one line. */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { testPki, tlsFlags } from './setup.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return { ...env, TETHER_LOG_LEVEL: 'warn' };
}

const BASE = ['start', '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0'];

test('start with TLS: the banner lists mqtts, HTTPS and ws/wss; SIGHUP reloads the certificate; SIGTERM stops', async (t) => {
  const child = spawn(process.execPath, [MAIN, ...BASE, '--data-dir', tempDir(t), ...tlsFlags({ ...testPki().server, ca: testPki().ca.cert })], { env: childEnv() });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await waitFor('the banner', async () => out, { until: (o) => o.includes('Press Ctrl+C to stop.') || child.exitCode !== null, timeoutMs: 15_000 });
  assert.match(out, /Press Ctrl\+C/, err);

  const httpPort = /Dashboard \+ API:\s+listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  const mqttsPort = /MQTT over TLS:\s+listening on 127\.0\.0\.1:(\d+)  ->  mqtts:\/\/127\.0\.0\.1:(\d+)  \(client certificates requested\)/.exec(out);
  const https = /HTTPS:\s+listening on 127\.0\.0\.1:(\d+)  ->  https:\/\/127\.0\.0\.1:(\d+)\/ .*wss:\/\/127\.0\.0\.1:(\d+)\/ws/.exec(out);
  assert.ok(httpPort && mqttsPort && https, out);
  assert.equal(mqttsPort[1], mqttsPort[2]);
  assert.ok(https[1] === https[2] && https[2] === https[3], out);
  assert.match(out, new RegExp(`MQTT WebSocket:\\s+ws://127\\.0\\.0\\.1:${httpPort}/ws `));

  child.kill('SIGHUP');
  await waitFor('the reload line', async () => out, { until: (o) => o.includes('Received SIGHUP'), timeoutMs: 10_000 });
  assert.match(out, /Received SIGHUP: TLS certificate reloaded \(CN=localhost, valid until \d{4}-.*\); new connections use it\./);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
});

test('start with an unreadable TLS file: one line naming the flag, exit code 1', async (t) => {
  const dir = tempDir(t);
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...BASE, '--data-dir', dir, ...tlsFlags({ cert: testPki().server.cert, key: path.join(dir, 'missing.key') })],
      { env: childEnv(), timeout: 20_000 },
      (error, _stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
    );
  });
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /TLS private key file ".*missing\.key" cannot be read: the file does not exist\. Point --tls-key \(or TETHER_TLS_KEY\) at a readable PEM file\./);
});

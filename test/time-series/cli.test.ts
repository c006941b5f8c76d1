/** `tether device --telemetry` (the data collection tutorial's client) against a running Tether. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { fileURLToPath } from 'node:url';
import { api, createEndpoint, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function tether(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

test('tether device --telemetry publishes samples from a file and prints each /status reply', async (t) => {
  const dir = tempDir(t);
  const running = await start(t, await testConfig(path.join(dir, 'data')));
  const { endpointId, token } = await createEndpoint(running);
  const file = path.join(dir, 'samples.json');
  // Recent times: points older than the retention (90 days) may be removed by its sweep before the read.
  const at = Date.now() - 10_000;
  fs.writeFileSync(file, JSON.stringify([{ timestamp: at, level: 1 }, { timestamp: at + 1000, level: 2 }]));
  const result = await tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(running.mqttPort), '--telemetry', '--samples', file, '--interval', '0.05', '--count', '2', '--qos', '1']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`DEBUG: Composed data collection topic: kp1/demo_application_v1/dcx/${token}/json/\\d+`));
  assert.equal(result.stdout.match(/INFO: Message received: topic \[kp1\/demo_application_v1\/dcx\/.+\/json\/\d+\/status\]\nbody \[\]/g)?.length, 2, result.stdout);
  const data = await api<Array<Record<string, Record<string, unknown[]>>>>(running, 'GET', `/epts/api/v1/applications/demo_application/time-series/data?endpointId=${endpointId}&timeSeriesName=auto~level&fromDate=${at - 60_000}&toDate=${at + 60_000}`);
  assert.equal(data.body[0]![endpointId]!['auto~level']!.length, 2);
});

test('tether device --telemetry: the simulated vehicle, and a clear error for a bad samples file', async (t) => {
  const dir = tempDir(t);
  const running = await start(t, await testConfig(path.join(dir, 'data')));
  const { endpointId, token } = await createEndpoint(running);
  const result = await tether(['device', '--token', token, '--host', '127.0.0.1', '--port', String(running.mqttPort), '--telemetry', '--interval', '0.05', '--count', '1', '--batch', '3']);
  assert.equal(result.code, 0, result.stderr);
  const last = await api<Array<Record<string, Record<string, unknown[]>>>>(running, 'GET', `/epts/api/v1/applications/demo_application/time-series/last?endpointId=${endpointId}&timeSeriesName=auto~fuelLevel,auto~temperature,auto~latitude`);
  for (const series of ['auto~fuelLevel', 'auto~temperature', 'auto~latitude']) assert.equal(last.body[0]![endpointId]![series]!.length, 1, series);

  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '[1, 2]');
  const refused = await tether(['device', '--token', token, '--port', String(running.mqttPort), '--telemetry', '--samples', bad]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--samples .* sample objects/);
});

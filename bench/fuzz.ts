/**
 * `npm run fuzz`: the MQTT fuzzer of test/fuzz/ against a `tether start` process for a long run
 * (default 1,000,000 packets; `--packets N`, `--concurrency N`). Fails when the server dies, answers
 * with anything a device never gets, stops serving a well-behaved device, or its RSS passes 300 MB.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { connectAsync } from 'mqtt';
import { packageRoot } from '../src/platform/package-root.js';
import { mqttFuzzer, runScript } from '../test/fuzz/mqtt-fuzzer.js';
import { rssMb } from './procstat.js';
import { installCleanup, startTether, tail } from './servers.js';

const RSS_LIMIT_MB = 300;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const target = flag('packets', 1_000_000);
  const concurrency = flag('concurrency', 32);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-fuzz-'));
  const server = await startTether({ entry: path.join(packageRoot(), 'bin/tether.js'), dataDir: path.join(work, 'data'), adminKey: 'fuzz-admin-key-0123456789abcdef', logFile: path.join(work, 'tether.log') });
  installCleanup(() => void server.stop());
  const api = (method: string, route: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${server.httpPort}${route}`, { method, headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) }).then((r) => r.json() as Promise<{ token: string }>);
  const { token } = await api('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' } });
  const device = await connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0 });
  let served = 0;
  device.on('message', () => served++);

  const scripts = fc.sample(mqttFuzzer([token]).connectionScript, { numRuns: 10_000, seed: 42 });
  let sent = 0;
  let next = 0;
  let maxRss = 0;
  const findings: string[] = [];
  const started = Date.now();
  let lastReport = started;
  const worker = async () => {
    while (sent < target && findings.length === 0) {
      const [version, packets] = scripts[next++ % scripts.length]!;
      const outcome = await runScript(server.mqttPort, version as 4 | 5, packets, 20);
      sent += packets.length;
      if (outcome.unexpected.length > 0) findings.push(`unexpected answers ${outcome.unexpected.join(', ')}`);
    }
  };
  const watcher = setInterval(() => {
    const rss = rssMb(server.pid);
    maxRss = Math.max(maxRss, rss);
    if (rss > RSS_LIMIT_MB) findings.push(`server RSS ${rss.toFixed(0)} MB > ${RSS_LIMIT_MB} MB`);
    void device.publishAsync(`kp1/demo_application_v1/epmx/${token}/update/keys/${sent % 1000 + 1}`, '{"alive":true}', { qos: 1 });
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      console.log(`${sent} packets, ${((Date.now() - started) / 1000).toFixed(0)} s, server RSS ${rss.toFixed(0)} MB (max ${maxRss.toFixed(0)})`);
    }
  }, 500);
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearInterval(watcher);
  const before = served;
  await device.publishAsync(`kp1/demo_application_v1/epmx/${token}/update/keys/7`, '{"done":true}', { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (served === before) findings.push('the well-behaved device got no reply after the run');
  await device.endAsync();
  const alive = (() => {
    try {
      process.kill(server.pid, 0);
      return true;
    } catch {
      return false;
    }
  })();
  if (!alive) findings.push(`the server died:\n${tail(server.logFile)}`);
  await server.stop();
  const seconds = (Date.now() - started) / 1000;
  console.log(`fuzz: ${sent} packets on ${Math.ceil(sent / 7)}+ connections in ${seconds.toFixed(0)} s, max server RSS ${maxRss.toFixed(0)} MB (limit ${RSS_LIMIT_MB}), well-behaved device replies ${served}`);
  fs.rmSync(work, { recursive: true, force: true });
  if (findings.length > 0) {
    console.error(`FAIL: ${findings.join('\n')}`);
    process.exit(1);
  }
  console.log('1 passed, 0 failed');
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

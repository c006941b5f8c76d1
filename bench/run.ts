/**
 * `npm run bench [-- --quick] [--only publish,connect,idle,query] [--brokers tether,mosquitto]
 *   [--profile] [--no-docs] [--keep]`
 *
 * Runs Tether (through its real CLI) and mosquitto as child processes, drives both with the same
 * load generator, prints a table of figures, references, ratios and targets, and appends the run
 * to docs/performance.md. Figures are printed, never asserted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoadGenerator } from './loadgen/client.js';
import type { Target } from './loadgen/device.js';
import type { ConnectRateResult, PublishResult } from './loadgen/protocol.js';
import { cpuMeter, fdLimits, rssMb, waitIdle } from './procstat.js';
import { appendToDocs, environment, fmt, ratio, terminalTable, type Row, type Verdict } from './report.js';
import { installCleanup, mosquittoAvailable, mosquittoVersion, startMosquitto, startTether, tail, type RunningServer } from './servers.js';
import type { QueryTiming } from './query.js';

const SCENARIOS = ['publish', 'connect', 'idle', 'query'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Plan {
  mode: 'quick' | 'full';
  publishDevices: number;
  window: number;
  warmupMs: number;
  publishMs: number;
  pacedMs: number;
  connectConcurrency: number;
  connectMs: number;
  idleDevices: number;
  queryEndpoints: number;
  queryRequests: number;
}

const FULL: Plan = {
  mode: 'full',
  publishDevices: 200,
  window: 2,
  warmupMs: 3_000,
  publishMs: 15_000,
  pacedMs: 15_000,
  connectConcurrency: 50,
  connectMs: 15_000,
  idleDevices: 10_000,
  queryEndpoints: 100_000,
  queryRequests: 100,
};

const QUICK: Plan = {
  ...FULL,
  mode: 'quick',
  warmupMs: 1_000,
  publishMs: 4_000,
  pacedMs: 4_000,
  connectMs: 4_000,
  queryRequests: 30,
};

const PREFIX = 'kp1/demo_application_v1/epmx';
const LOCAL_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tether') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the tether package root above the bench script');
    dir = up;
  }
}

interface BrokerFigures {
  publish?: PublishResult & { serverCpu: number };
  paced?: PublishResult & { serverCpu: number };
  connect?: ConnectRateResult & { serverCpu: number };
  idle?: { rssBeforeMb: number; rssMb: number; open: number; failed: number; firstError?: string };
}

/** Runs the MQTT scenarios against one running broker. */
async function measureBroker(
  gen: LoadGenerator,
  server: RunningServer,
  plan: Plan,
  tokens: string[],
  only: Set<Scenario>,
  pacedRateOf: (own: number | undefined) => number | undefined,
): Promise<BrokerFigures> {
  const target: Target = { host: '127.0.0.1', port: server.mqttPort, localAddresses: LOCAL_ADDRESSES };
  const figures: BrokerFigures = {};
  const publishTokens = tokens.slice(0, plan.publishDevices);

  if (only.has('publish')) {
    log(`${server.name}: closed-loop update/keys, ${plan.publishDevices} devices × ${plan.window} in flight, ${plan.publishMs / 1000} s`);
    let meter = cpuMeter(server.pid);
    const publish = await gen.run({
      kind: 'closed',
      target,
      prefix: PREFIX,
      tokens: publishTokens,
      window: plan.window,
      warmupMs: plan.warmupMs,
      durationMs: plan.publishMs,
    });
    figures.publish = { ...publish, serverCpu: meter() };
    log(`${server.name}: ${fmt(publish.rate)} updates/s, p50 ${fmt(publish.latency.p50, 2)} ms, p99 ${fmt(publish.latency.p99, 2)} ms`);
    await waitIdle(server.pid);

    const rate = pacedRateOf(publish.rate);
    if (rate !== undefined && rate >= 1) {
      log(`${server.name}: open-loop update/keys at ${fmt(rate)}/s, ${plan.pacedMs / 1000} s`);
      meter = cpuMeter(server.pid);
      const paced = await gen.run({ kind: 'paced', target, prefix: PREFIX, tokens: publishTokens, rate, warmupMs: plan.warmupMs, durationMs: plan.pacedMs });
      figures.paced = { ...paced, serverCpu: meter() };
      log(`${server.name}: ${fmt(paced.rate)} updates/s, p50 ${fmt(paced.latency.p50, 2)} ms, p99 ${fmt(paced.latency.p99, 2)} ms`);
      await waitIdle(server.pid);
    }
  }

  if (only.has('connect')) {
    log(`${server.name}: connect + request + disconnect, ${plan.connectConcurrency} in flight, ${plan.connectMs / 1000} s`);
    const meter = cpuMeter(server.pid);
    const connect = await gen.run({
      kind: 'connect-rate',
      target,
      prefix: PREFIX,
      tokens,
      concurrency: plan.connectConcurrency,
      durationMs: plan.connectMs,
      maxCount: 1_000_000,
      echo: server.name !== 'Tether',
    });
    figures.connect = { ...connect, serverCpu: meter() };
    log(`${server.name}: ${fmt(connect.rate)} connects/s (${connect.failed} failed, ${connect.errorResponses} error responses)${connect.firstError ? `; first error: ${connect.firstError}` : ''}`);
    await waitIdle(server.pid);
  }

  if (only.has('idle')) {
    const count = Math.min(plan.idleDevices, tokens.length);
    await waitIdle(server.pid);
    const rssBeforeMb = rssMb(server.pid);
    log(`${server.name}: connecting ${count} idle devices (RSS before: ${fmt(rssBeforeMb, 1)} MB)`);
    const opened = await gen.run({ kind: 'idle-open', target, prefix: PREFIX, tokens: tokens.slice(0, count), concurrency: 100 });
    await waitIdle(server.pid);
    const rss = rssMb(server.pid);
    figures.idle = { rssBeforeMb, rssMb: rss, open: opened.open, failed: opened.failed, firstError: opened.firstError };
    log(`${server.name}: ${opened.open} idle devices open (${opened.failed} failed) in ${fmt(opened.seconds, 1)} s, RSS ${fmt(rss, 1)} MB${opened.firstError ? `; first error: ${opened.firstError}` : ''}`);
    await gen.run({ kind: 'idle-close' });
    await waitIdle(server.pid);
  }
  return figures;
}

function verdict(ok: boolean | undefined): Verdict {
  return ok === undefined ? '' : ok ? 'PASS' : 'MISS';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      brokers: { type: 'string', default: 'tether,mosquitto' },
    },
  });
  const plan = values.quick ? QUICK : FULL;
  const only = new Set<Scenario>(
    values.only ? (values.only.split(',').map((s) => s.trim()) as Scenario[]).filter((s) => SCENARIOS.includes(s)) : SCENARIOS,
  );
  const root = repoRoot();
  const entry = process.env.TETHER_BENCH_SERVER_ENTRY ? path.resolve(process.env.TETHER_BENCH_SERVER_ENTRY) : path.join(root, 'bin', 'tether.js');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-'));
  const profileDir = path.join(workDir, 'profiles');
  const keep = values.keep || values.profile;
  const gen = new LoadGenerator();
  const notes: string[] = [];
  let current: RunningServer | undefined;
  installCleanup(() => {
    if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
  });

  const limits = fdLimits();
  if (limits.soft < plan.idleDevices + 1_000) {
    const capped = Math.max(1_000, limits.soft - 1_000);
    notes.push(`open-file limit ${limits.soft} allowed only ${capped} idle devices (raise with \`ulimit -n 20000\`)`);
    plan.idleDevices = capped;
  }
  const brokers = new Set(values.brokers.split(',').map((s) => s.trim()));
  const mosquitto = brokers.has('mosquitto') && mosquittoAvailable();
  const env = environment(mosquittoVersion());
  log(`${plan.mode} run on ${env.cores} cores, Node ${env.node}, mosquitto ${env.mosquitto}; server entry ${path.relative(root, entry)}; work dir ${workDir}`);
  if (!mosquitto) {
    log('mosquitto not found at /usr/sbin/mosquitto: reference measurements skipped. Install it with `apt-get install -y mosquitto`.');
    notes.push('mosquitto not installed: references skipped (`apt-get install -y mosquitto`)');
  }

  const tether: BrokerFigures = {};
  const reference: BrokerFigures = {};
  let storageQuery: QueryTiming | undefined;
  let httpQuery: QueryTiming | undefined;
  let queryEndpoints = 0;

  try {
    const { seedEndpoints, meterMetadata } = await import('./seed.js');
    const mqttScenarios = [...only].some((s) => s !== 'query');
    if (mqttScenarios) {
      const dataDir = path.join(workDir, 'tether-mqtt');
      fs.mkdirSync(dataDir);
      const deviceCount = Math.max(plan.idleDevices, plan.publishDevices);
      log(`seeding ${deviceCount} endpoints with tokens`);
      const seeded = await seedEndpoints(dataDir, deviceCount);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);

      const adminKey = randomBytes(24).toString('base64url');
      const logFile = path.join(workDir, 'tether-mqtt.log');
      if (brokers.has('tether')) {
        current = await startTether({
          entry,
          dataDir,
          adminKey,
          logFile,
          cwd: root,
          nodeFlags: values.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
        });
        log(`Tether pid ${current.pid} listening on MQTT ${current.mqttPort}`);
        try {
          Object.assign(tether, await measureBroker(gen, current, plan, seeded.tokens, only, (own) => (own === undefined ? undefined : own / 2)));
        } catch (err) {
          log(`Tether log tail:\n${tail(logFile)}`);
          throw err;
        } finally {
          await current.stop();
          current = undefined;
        }
      }

      if (mosquitto) {
        current = await startMosquitto(workDir);
        log(`mosquitto pid ${current.pid} listening on ${current.mqttPort}`);
        try {
          // Same absolute rate as Tether's half-load run, so the latencies compare like for like.
          const tetherHalf = tether.publish ? tether.publish.rate / 2 : undefined;
          Object.assign(reference, await measureBroker(gen, current, plan, seeded.tokens, only, (own) => tetherHalf ?? (own === undefined ? undefined : own / 2)));
        } finally {
          await current.stop();
          current = undefined;
        }
      }
    }

    if (only.has('query') && brokers.has('tether')) {
      const dataDir = path.join(workDir, 'tether-query');
      fs.mkdirSync(dataDir);
      queryEndpoints = plan.queryEndpoints;
      log(`seeding ${queryEndpoints} endpoints with metadata`);
      const seeded = await seedEndpoints(dataDir, queryEndpoints, meterMetadata);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);
      const { listRequests, timeHttpQueries, timeStorageQueries } = await import('./query.js');
      const requests = listRequests(queryEndpoints);
      storageQuery = await timeStorageQueries(dataDir, requests, plan.queryRequests);
      log(`storage: p50 ${fmt(storageQuery.latency.p50, 1)} ms, p99 ${fmt(storageQuery.latency.p99, 1)} ms; totals ${storageQuery.totals.join(', ')}`);

      const adminKey = randomBytes(24).toString('base64url');
      const logFile = path.join(workDir, 'tether-query.log');
      const server = await startTether({ entry, dataDir, adminKey, logFile, cwd: root });
      current = server;
      try {
        httpQuery = await timeHttpQueries(server.httpPort, adminKey, requests, plan.queryRequests);
        log(`HTTP: p50 ${fmt(httpQuery.latency.p50, 1)} ms, p99 ${fmt(httpQuery.latency.p99, 1)} ms; ${httpQuery.errors} errors${httpQuery.firstError ? `: ${httpQuery.firstError}` : ''}`);
      } finally {
        await current.stop();
        current = undefined;
      }
    }
  } finally {
    await current?.stop();
    await gen.close();
  }

  const rows = buildRows(plan, tether, reference, httpQuery, storageQuery, queryEndpoints, mosquitto);
  const details = buildDetails(plan, tether, reference, httpQuery, storageQuery);
  details.push(...notes);

  process.stdout.write(`\n${terminalTable(rows)}\n\n${details.map((d) => `* ${d}`).join('\n')}\n`);
  if (!values['no-docs']) {
    const doc = path.join(root, 'docs', 'performance.md');
    appendToDocs(doc, env, values.only ? `${plan.mode} (${[...only].join(', ')})` : plan.mode, rows, details);
    log(`appended to ${path.relative(process.cwd(), doc) || doc}`);
  }
  if (values.profile) log(`CPU profiles of the Tether child: ${profileDir}`);
  if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
  else log(`kept ${workDir}`);
}

function buildRows(
  plan: Plan,
  t: BrokerFigures,
  r: BrokerFigures,
  httpQuery: QueryTiming | undefined,
  storageQuery: QueryTiming | undefined,
  queryEndpoints: number,
  mosquitto: boolean,
): Row[] {
  const rows: Row[] = [];
  const refMissing = mosquitto ? '—' : 'skipped';
  const ref = (v: number | undefined, digits = 0) => (v === undefined ? refMissing : fmt(v, digits));
  if (t.publish) {
    const rel = r.publish ? t.publish.rate / r.publish.rate : undefined;
    rows.push({
      metric: 'update/keys QoS 1, max rate (updates/s)',
      tether: fmt(t.publish.rate),
      reference: ref(r.publish?.rate),
      ratio: ratio(t.publish.rate, r.publish?.rate),
      target: '≥ 0.60×',
      verdict: verdict(rel === undefined ? undefined : rel >= 0.6),
    });
    for (const p of ['p50', 'p90', 'p99', 'max'] as const) {
      rows.push({
        metric: `  latency at max rate, ${p} (ms)`,
        tether: fmt(t.publish.latency[p], 2),
        reference: ref(r.publish?.latency[p], 2),
        ratio: ratio(t.publish.latency[p], r.publish?.latency[p]),
        target: '',
        verdict: '',
      });
    }
  }
  if (t.paced) {
    rows.push({
      metric: `p99 latency at 50 % of max (${fmt(t.paced.rate)}/s) (ms)`,
      tether: fmt(t.paced.latency.p99, 2),
      reference: ref(r.paced?.latency.p99, 2),
      ratio: ratio(t.paced.latency.p99, r.paced?.latency.p99),
      target: '< 10 ms',
      verdict: verdict(t.paced.latency.p99 < 10),
    });
  }
  if (t.connect) {
    rows.push({
      metric: 'connects/s (connect, subscribe, request, response)',
      tether: fmt(t.connect.rate),
      reference: ref(r.connect?.rate),
      ratio: ratio(t.connect.rate, r.connect?.rate),
      target: '≥ 3,000/s',
      verdict: verdict(t.connect.rate >= 3000 && t.connect.failed === 0 && t.connect.errorResponses === 0),
    });
  }
  if (t.idle) {
    rows.push({
      metric: `RSS with ${fmt(t.idle.open)} idle devices (MB)`,
      tether: fmt(t.idle.rssMb, 1),
      reference: ref(r.idle?.rssMb, 1),
      ratio: ratio(t.idle.rssMb, r.idle?.rssMb),
      target: '< 250 MB',
      verdict: verdict(t.idle.rssMb < 250 && t.idle.open >= plan.idleDevices),
    });
  }
  if (httpQuery) {
    const n = fmt(queryEndpoints);
    rows.push({
      metric: `endpoint list, ${n} endpoints, p50 (ms)`,
      tether: fmt(httpQuery.latency.p50, 1),
      reference: storageQuery ? fmt(storageQuery.latency.p50, 1) : '—',
      ratio: ratio(httpQuery.latency.p50, storageQuery?.latency.p50),
      target: '',
      verdict: '',
    });
    rows.push({
      metric: `endpoint list, ${n} endpoints, p99 (ms)`,
      tether: fmt(httpQuery.latency.p99, 1),
      reference: storageQuery ? fmt(storageQuery.latency.p99, 1) : '—',
      ratio: ratio(httpQuery.latency.p99, storageQuery?.latency.p99),
      target: '< 50 ms',
      verdict: verdict(httpQuery.latency.p99 < 50 && httpQuery.errors === 0),
    });
  }
  return rows;
}

function pct(v: number): string {
  return `${Math.round(v * 100)} %`;
}

function buildDetails(plan: Plan, t: BrokerFigures, r: BrokerFigures, httpQuery?: QueryTiming, storageQuery?: QueryTiming): string[] {
  const out: string[] = [];
  const both: Array<[string, BrokerFigures]> = [
    ['Tether', t],
    ['mosquitto', r],
  ];
  for (const [name, f] of both) {
    if (f.publish) {
      out.push(
        `${name} max rate: ${fmt(f.publish.acked)} PUBACKs in ${fmt(f.publish.seconds, 1)} s (${plan.publishDevices} devices × ${plan.window} in flight); broker CPU ${pct(f.publish.serverCpu)} of a core, generator busy ${pct(f.publish.generatorUtilization)}; lost ${f.publish.lost}, disconnects ${f.publish.disconnects}`,
      );
    }
    if (f.paced) {
      out.push(
        `${name} half load: ${fmt(f.paced.rate)}/s offered open-loop; p50 ${fmt(f.paced.latency.p50, 2)} / p90 ${fmt(f.paced.latency.p90, 2)} / p99 ${fmt(f.paced.latency.p99, 2)} / max ${fmt(f.paced.latency.max, 2)} ms; broker CPU ${pct(f.paced.serverCpu)}; lost ${f.paced.lost}, overflow ${f.paced.overflow}`,
      );
    }
    if (f.connect) {
      out.push(
        `${name} connects: ${fmt(f.connect.completed)} in ${fmt(f.connect.seconds, 1)} s with ${plan.connectConcurrency} in flight; cycle p50 ${fmt(f.connect.latency.p50, 1)} / p99 ${fmt(f.connect.latency.p99, 1)} ms; broker CPU ${pct(f.connect.serverCpu)}, generator busy ${pct(f.connect.generatorUtilization)}; failed ${f.connect.failed}, error responses ${f.connect.errorResponses}`,
      );
    }
    if (f.idle) {
      out.push(
        `${name} idle: RSS ${fmt(f.idle.rssBeforeMb, 1)} MB before, ${fmt(f.idle.rssMb, 1)} MB with ${fmt(f.idle.open)} devices (${fmt(((f.idle.rssMb - f.idle.rssBeforeMb) * 1024) / Math.max(1, f.idle.open), 1)} kB/device); failed ${f.idle.failed}`,
      );
    }
  }
  if (httpQuery) {
    out.push(
      `endpoint list: ${httpQuery.latency.count} sequential requests over HTTP keep-alive (10 page shapes); HTTP max ${fmt(httpQuery.latency.max, 1)} ms; storage-only max ${fmt(storageQuery?.latency.max, 1)} ms; totalElements per shape ${httpQuery.totals.map((n) => fmt(n)).join(', ')}`,
    );
  }
  return out;
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});

/**
 * `npm run bench [-- --quick] [--only publish,connect,idle,flood,query,export,dcx,ts-query,cex-rtt,cex-fleet,cmx-fleet,cex-backlog,ota-fleet,ota-abort,packages]
 *   [--brokers tether,mosquitto]
 *   [--profile] [--no-docs] [--keep] [--wait-quiet <seconds>]`
 *
 * Runs Tether (through its real CLI) and mosquitto as child processes, drives both with the same
 * load generator, prints a table of figures, references, ratios and targets, and appends the run
 * to docs/performance.md. Figures are printed, never asserted. `--only control` stands for the four
 * configuration and command scenarios (issue 13: cex-rtt, cex-fleet, cmx-fleet, cex-backlog), which
 * run against Tether only. `--only ota` stands for the two rollout scenarios of issue 14 (ota-fleet,
 * ota-abort, bench/ota.ts), also Tether only.
 * `--only packages` is the package download of issue 14 (bench/packages.ts), Tether only too.
 *
 * TETHER_BENCH_SERVER_ENTRY overrides the server entry (default bin/tether.js), e.g. to run a
 * build in another output dir.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/platform/package-root.js';
import { LoadGenerator } from './loadgen/client.js';
import { fdLimits, machineBusySeconds } from './procstat.js';
import type { QueryTiming } from './query.js';
import { appendToDocs, bullet, environment, fmt, terminalTable } from './report.js';
import { type BrokerFigures, type Plan, log, measureConnects, measureFlood, measureIdle, measureUpdates } from './scenarios.js';
import { installCleanup, mosquittoAvailable, mosquittoVersion, startMosquitto, startTether, tail, type RunningServer, type TetherServer } from './servers.js';
import { CONTROL_FULL, CONTROL_QUICK, CONTROL_SCENARIOS, type ControlFigures } from './control.js';
import { OTA_FULL, OTA_QUICK, OTA_SCENARIOS, type OtaFigures } from './ota.js';
import { buildDetails, buildRows } from './summary.js';
import type { DcxFigures, ReadFigures } from './time-series.js';
import type { PackageFigures } from './packages.js';

const SCENARIOS = ['publish', 'connect', 'idle', 'flood', 'query', 'export', 'dcx', 'ts-query', ...CONTROL_SCENARIOS, ...OTA_SCENARIOS, 'packages'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Names that stand for several scenarios in `--only`. */
const GROUPS: Record<string, readonly Scenario[]> = { control: CONTROL_SCENARIOS, ota: OTA_SCENARIOS };

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
  idleDeadlineMs: 120_000,
  queryEndpoints: 100_000,
  queryRequests: 100,
  floodDevices: 20,
  floodRate: 400,
  flooders: 10,
  floodMs: 10_000,
};

const QUICK: Plan = {
  ...FULL,
  mode: 'quick',
  warmupMs: 1_000,
  publishMs: 4_000,
  pacedMs: 4_000,
  connectMs: 4_000,
  idleDevices: 2_000,
  idleDeadlineMs: 30_000,
  // Seeding 100,000 endpoints alone takes longer than a quick run should.
  queryEndpoints: 20_000,
  queryRequests: 30,
};

/**
 * Waits up to `maxMs` for the machine to be nearly idle (other work skews every figure on 2 cores).
 * Returns the cores' worth of CPU in use during the last second sampled.
 */
async function waitQuiet(maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (let announced = false; ; announced = true) {
    const busy0 = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const busy = machineBusySeconds() - busy0;
    if (busy < 0.2 || Date.now() >= deadline) return busy;
    if (!announced) log(`machine busy (${Math.round(busy * 100)} % of a core): waiting up to ${Math.round(maxMs / 1000)} s for it to quieten (--wait-quiet <s>)`);
  }
}

/** Starts a server, runs `fn`, always stops it; on failure prints the server's log tail. */
async function withServer<S extends RunningServer, T>(start: () => Promise<S>, fn: (server: S) => Promise<T>): Promise<T> {
  const server = await start();
  log(`${server.name} pid ${server.pid} listening on MQTT ${server.mqttPort}`);
  try {
    return await fn(server);
  } catch (err) {
    log(`${server.name} log tail:\n${tail(server.logFile)}`);
    throw err;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      brokers: { type: 'string', default: 'tether,mosquitto' },
      profile: { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '30' },
    },
  });
  const plan: Plan = { ...(values.quick ? QUICK : FULL) };
  const named: string[] | undefined = values.only?.split(',').flatMap((x): readonly string[] => GROUPS[x.trim()] ?? [x.trim()]);
  const unknown = named?.filter((x) => !(SCENARIOS as readonly string[]).includes(x)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; known: ${[...SCENARIOS, ...Object.keys(GROUPS)].join(', ')}`);
  const only = new Set<Scenario>(named ? SCENARIOS.filter((s) => named.includes(s)) : SCENARIOS);
  const controlPlan = { ...(values.quick ? CONTROL_QUICK : CONTROL_FULL) };
  const otaPlan = { ...(values.quick ? OTA_QUICK : OTA_FULL) };
  const brokers = new Set(values.brokers.split(',').map((s) => s.trim()));
  const root = packageRoot();
  const entry = process.env.TETHER_BENCH_SERVER_ENTRY ? path.resolve(process.env.TETHER_BENCH_SERVER_ENTRY) : path.join(root, 'bin', 'tether.js');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-'));
  const profileDir = path.join(workDir, 'profiles');
  const keep = values.keep || values.profile;
  installCleanup(() => {
    if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
  });

  const notes: string[] = [];
  const limits = fdLimits();
  if (limits.soft < plan.idleDevices + 1_000) {
    const capped = Math.max(1_000, limits.soft - 1_000);
    notes.push(`open-file limit ${limits.soft} allowed only ${capped} idle devices (raise it with \`ulimit -n 20000\`)`);
    plan.idleDevices = capped;
  }
  if (limits.soft < controlPlan.fleetDevices + 1_000) {
    const capped = Math.max(1_000, limits.soft - 1_000);
    notes.push(`open-file limit ${limits.soft} allowed only ${capped} fleet devices (raise it with \`ulimit -n 20000\`)`);
    controlPlan.fleetDevices = capped;
  }
  if (limits.soft < otaPlan.fleetDevices + 1_000) {
    const capped = Math.max(1_000, limits.soft - 1_000);
    notes.push(`open-file limit ${limits.soft} allowed only ${capped} rollout devices (raise it with \`ulimit -n 20000\`)`);
    otaPlan.fleetDevices = capped;
  }
  const env = environment(mosquittoVersion());
  env.busyCoresBefore = await waitQuiet(Number(values['wait-quiet']) * 1000);
  log(`${plan.mode} run on ${env.cores} cores, Node ${env.node}, mosquitto ${env.mosquitto}; server ${path.relative(root, entry)}; work dir ${workDir}`);
  if (env.busyCoresBefore > 0.2) {
    log(`the machine is busy (${Math.round(env.busyCoresBefore * 100)} % of a core before start, load average ${env.loadAverage.toFixed(2)}): expect lower, noisier figures`);
  }

  let referenceMissing = '—';
  let useMosquitto = brokers.has('mosquitto');
  if (!useMosquitto) {
    referenceMissing = 'not run';
  } else if (!mosquittoAvailable()) {
    useMosquitto = false;
    referenceMissing = 'skipped';
    log('mosquitto not found at /usr/sbin/mosquitto: reference measurements skipped. Install it with `apt-get install -y mosquitto`.');
    notes.push('mosquitto not installed: references skipped (install with `apt-get install -y mosquitto`)');
  }

  const tether: BrokerFigures = {};
  const reference: BrokerFigures = {};
  let httpQuery: QueryTiming | undefined;
  let storageQuery: QueryTiming | undefined;
  let queryShapes: string[] = [];
  const dcx: DcxFigures = {};
  const reads: ReadFigures = {};
  const control: ControlFigures = {};
  const ota: OtaFigures = {};
  let packages: PackageFigures | undefined;
  const gen = new LoadGenerator();
  let failures = 0;
  let tetherRuns = 0;
  const tetherIn = (dataDir: string) => () => {
    const name = `tether-${++tetherRuns}`;
    return startTether({
      entry,
      dataDir,
      adminKey: randomBytes(24).toString('base64url'),
      logFile: path.join(workDir, `${name}.log`),
      cwd: root,
      nodeFlags: values.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [],
    });
  };
  const mosquittoIn = () => startMosquitto(workDir);

  try {
    const { seedEndpoints, seedListedEndpoints, meterMetadata } = await import('./seed.js');
    // A failing section is reported and the others still run, so a run always leaves its figures.
    const section = async (name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        failures++;
        const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        notes.push(`${name} failed: ${message}`);
      }
    };
    if (only.has('publish') || only.has('connect') || only.has('idle') || only.has('flood')) await section('MQTT scenarios', async () => {
      const dataDir = path.join(workDir, 'data-devices');
      fs.mkdirSync(dataDir);
      const count = Math.max(plan.idleDevices, plan.publishDevices);
      log(`seeding ${fmt(count)} endpoints with tokens`);
      const seeded = await seedEndpoints(dataDir, count);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);
      const tokens = seeded.tokens;

      const traffic = async (server: RunningServer, figures: BrokerFigures, pacedRate: (ownMax: number) => number, echo: boolean) => {
        if (only.has('publish')) Object.assign(figures, await measureUpdates(gen, server, plan, tokens, pacedRate, dataDir));
        if (only.has('connect')) figures.connect = await measureConnects(gen, server, plan, tokens, echo);
      };
      // Idle memory is measured on a fresh process: heap grown by the load runs is not the fleet's.
      if (brokers.has('tether')) {
        if (only.has('publish') || only.has('connect')) await withServer(tetherIn(dataDir), (s) => traffic(s, tether, (own) => own / 2, false));
        if (only.has('idle')) tether.idle = await withServer(tetherIn(dataDir), (s) => measureIdle(gen, s, plan, tokens));
        // Hostile load only makes sense against Tether: mosquitto has no unknown tokens to refuse.
        if (only.has('flood')) tether.flood = await withServer(tetherIn(dataDir), (s) => measureFlood(gen, s, plan, tokens));
      }
      if (useMosquitto) {
        // Driven at Tether's half-load rate too, so the latencies compare at the same offered load.
        const half = (own: number) => (tether.publish ? tether.publish.rate / 2 : own / 2);
        if (only.has('publish') || only.has('connect')) await withServer(mosquittoIn, (s) => traffic(s, reference, half, true));
        if (only.has('idle')) reference.idle = await withServer(mosquittoIn, (s) => measureIdle(gen, s, plan, tokens));
      }
    });

    if ((only.has('query') || only.has('export')) && brokers.has('tether')) await section('endpoint list', async () => {
      const dataDir = path.join(workDir, 'data-endpoints');
      fs.mkdirSync(dataDir);
      log(`seeding ${fmt(plan.queryEndpoints)} endpoints with metadata`);
      const seeded = await seedListedEndpoints(dataDir, plan.queryEndpoints, meterMetadata);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);
      if (only.has('query')) {
        const { describe, listRequests, timeHttpQueries, timeStorageQueries } = await import('./query.js');
        const requests = listRequests(plan.queryEndpoints);
        queryShapes = requests.map(describe);
        storageQuery = await timeStorageQueries(dataDir, requests, plan.queryRequests);
        log(`storage: p50 ${fmt(storageQuery.latency.p50, 1)} ms, p99 ${fmt(storageQuery.latency.p99, 1)} ms`);
        httpQuery = await withServer<TetherServer, QueryTiming>(tetherIn(dataDir), (s) => timeHttpQueries(s.httpPort, s.adminKey, requests, plan.queryRequests));
        log(`HTTP: p50 ${fmt(httpQuery.latency.p50, 1)} ms, p99 ${fmt(httpQuery.latency.p99, 1)} ms; ${httpQuery.errors} errors`);
      }
      if (only.has('export')) {
        const { timeExport, timeImport } = await import('./export.js');
        const e = await withServer(tetherIn(dataDir), (s) => timeExport(s.httpPort, s.adminKey, s.pid));
        const line = `CSV export of ${fmt(e.rows)} endpoints over HTTP (status ${e.status}): ${fmt(e.seconds, 1)} s, ${fmt(e.megabytes, 1)} MB; server RSS ${fmt(e.rssBeforeMb)} MB before, ${fmt(e.rssPeakMb)} MB peak`;
        log(line);
        notes.push(line);
        if (e.status !== 200 || e.rows !== plan.queryEndpoints) failures++;
        // The same CSV into an empty server: the fleet moved in one request.
        const freshDir = path.join(workDir, 'data-import');
        fs.mkdirSync(freshDir);
        const i = await withServer(tetherIn(freshDir), (s) => timeImport(s.httpPort, s.adminKey, e.csv));
        const importLine = `CSV import of that export into an empty server (status ${i.status}): ${fmt(i.created)} created, ${fmt(i.failed)} failed, ${fmt(i.seconds, 1)} s (${fmt(i.created / i.seconds)} endpoints/s)`;
        log(importLine);
        notes.push(importLine);
        if (i.status !== 200 || i.created !== e.rows) failures++;
      }
    });

    if (only.has('dcx')) await section('DCX ingest', async () => {
      const { measureDcx, measureDisk } = await import('./time-series.js');
      const dataDir = path.join(workDir, 'data-dcx');
      fs.mkdirSync(dataDir);
      log(`seeding ${plan.publishDevices} endpoints with tokens`);
      const { tokens } = await seedEndpoints(dataDir, plan.publishDevices);
      if (brokers.has('tether')) {
        dcx.tether = await withServer(tetherIn(dataDir), (s) => measureDcx(gen, s, plan, tokens));
        dcx.disk = await measureDisk(dataDir);
      }
      if (useMosquitto) dcx.reference = await withServer(mosquittoIn, (s) => measureDcx(gen, s, plan, tokens));
    });

    if (only.has('ts-query') && brokers.has('tether')) await section('time series reads', async () => {
      const { measureReads, seedTimeSeries } = await import('./time-series.js');
      const dataDir = path.join(workDir, 'data-ts');
      fs.mkdirSync(dataDir);
      log(`seeding ${fmt(plan.queryEndpoints)} endpoints with one latest point each, and one endpoint with 30 days at 10 s`);
      const seeded = await seedEndpoints(dataDir, plan.queryEndpoints);
      const span = await seedTimeSeries(dataDir, seeded.endpointIds[0]!, seeded.endpointIds);
      log(`seeded in ${fmt(seeded.seconds + span.seconds, 1)} s`);
      Object.assign(reads, await withServer<TetherServer, ReadFigures>(tetherIn(dataDir), (s) => measureReads(s.httpPort, s.adminKey, seeded.endpointIds[0]!, seeded.endpointIds, span, plan.queryRequests)));
    });

    if (CONTROL_SCENARIOS.some((s) => only.has(s)) && brokers.has('tether')) await section('configuration and commands', async () => {
      const seedDir = path.join(workDir, 'data-control-seed');
      fs.mkdirSync(seedDir);
      const count = Math.max(controlPlan.fleetDevices, controlPlan.backlogEndpoints);
      log(`seeding ${fmt(count)} endpoints with tokens`);
      const seeded = await seedEndpoints(seedDir, count);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);
      // Each scenario gets a fresh server on its own copy: commands and statuses of one never weigh on the next.
      let copies = 0;
      const fresh = () => {
        const dir = path.join(workDir, `data-control-${++copies}`);
        fs.cpSync(seedDir, dir, { recursive: true });
        return dir;
      };
      const run = async (name: string, fn: () => Promise<void>) => section(name, fn);
      if (only.has('cex-rtt')) await run('command round trip', async () => {
        const { measureRoundTrip } = await import('./cex-round-trip.js');
        const dir = fresh();
        control.rtt = await withServer(tetherIn(dir), (s) => measureRoundTrip(gen, s, controlPlan, dir, seeded.tokens[0]!, seeded.endpointIds[0]!));
      });
      if (only.has('cex-fleet')) await run('fleet command', async () => {
        const { measureFleetCommand } = await import('./cex-fleet.js');
        control.fleet = await withServer(tetherIn(fresh()), (s) => measureFleetCommand(gen, s, controlPlan, seeded.tokens, seeded.endpointIds));
      });
      if (only.has('cmx-fleet')) await run('fleet configuration', async () => {
        const { measureFleetConfiguration } = await import('./cmx-fleet.js');
        control.config = await withServer(tetherIn(fresh()), (s) => measureFleetConfiguration(gen, s, controlPlan, seeded.tokens));
      });
      if (only.has('cex-backlog')) await run('offline backlog', async () => {
        const { measureBacklog } = await import('./cex-backlog.js');
        control.backlog = await withServer(tetherIn(fresh()), (s) => measureBacklog(gen, s, controlPlan, seeded.tokens, seeded.endpointIds));
      });
    });

    if (OTA_SCENARIOS.some((s) => only.has(s)) && brokers.has('tether')) await section('software updates', async () => {
      const seedDir = path.join(workDir, 'data-ota-seed');
      fs.mkdirSync(seedDir);
      const count = Math.max(otaPlan.fleetDevices, otaPlan.abortDevices);
      log(`seeding ${fmt(count)} endpoints with tokens`);
      const seeded = await seedEndpoints(seedDir, count);
      log(`seeded in ${fmt(seeded.seconds, 1)} s`);
      let copies = 0;
      const fresh = () => {
        const dir = path.join(workDir, `data-ota-${++copies}`);
        fs.cpSync(seedDir, dir, { recursive: true });
        return dir;
      };
      const { measureOtaAbort, measureOtaFleet } = await import('./ota.js');
      if (only.has('ota-fleet')) await section('rollout to the fleet', async () => {
        ota.fleet = await withServer(tetherIn(fresh()), (s) => measureOtaFleet(gen, s, otaPlan, seeded.tokens));
      });
      if (only.has('ota-abort')) await section('rollout abort rule', async () => {
        ota.abort = await withServer(tetherIn(fresh()), (s) => measureOtaAbort(gen, s, otaPlan, seeded.tokens));
      });
    });
    if (only.has('packages') && brokers.has('tether')) await section('package download', async () => {
      const { PACKAGES_FULL, PACKAGES_QUICK, measurePackageDownloads } = await import('./packages.js');
      const dataDir = path.join(workDir, 'data-packages');
      fs.mkdirSync(dataDir);
      packages = await withServer(tetherIn(dataDir), (s) => measurePackageDownloads(s, values.quick ? PACKAGES_QUICK : PACKAGES_FULL));
    });
  } finally {
    await gen.close();
  }

  const figures = { tether, reference, referenceMissing, httpQuery, storageQuery, queryEndpoints: plan.queryEndpoints, queryShapes };
  const rows = buildRows(plan, figures);
  if (dcx.tether || dcx.disk || reads.downsampled) {
    const { timeSeriesRows } = await import('./time-series.js');
    rows.push(...timeSeriesRows(plan, dcx, reads, referenceMissing));
  }
  const controlNotes: string[] = [];
  if (control.rtt || control.fleet || control.config || control.backlog) {
    const { controlDetails, controlRows } = await import('./control.js');
    rows.push(...controlRows(controlPlan, control));
    controlNotes.push(...controlDetails(control));
  }
  if (ota.fleet || ota.abort) {
    const { otaDetails, otaRows } = await import('./ota.js');
    rows.push(...otaRows(otaPlan, ota));
    controlNotes.push(...otaDetails(ota));
  }
  if (packages) {
    const { PACKAGES_FULL, PACKAGES_QUICK, packageRows } = await import('./packages.js');
    rows.push(...packageRows(values.quick ? PACKAGES_QUICK : PACKAGES_FULL, packages));
  }
  if (values.profile) notes.push('the Tether children ran with --cpu-prof (a few % slower)');
  const details = [...buildDetails(plan, figures), ...controlNotes, ...notes];
  process.stdout.write(`\n${terminalTable(rows)}\n\n${details.map(bullet('*')).join('\n')}\n`);
  if (!values['no-docs']) {
    const doc = path.join(root, 'docs', 'performance.md');
    const label = values.only || values.brokers !== 'tether,mosquitto' ? `${plan.mode} (${[...only].join(', ')}; ${[...brokers].join(', ')})` : plan.mode;
    appendToDocs(doc, env, label, rows, details);
    log(`appended to ${doc}`);
  }
  if (values.profile) log(`CPU profiles of the Tether children: ${profileDir}`);
  if (failures > 0) process.exitCode = 1;
  if (keep) log(`kept ${workDir}`);
  else fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});

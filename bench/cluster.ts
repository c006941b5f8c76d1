/**
 * `npm run bench:cluster [-- --quick] [--topologies sqlite-1,postgres-1,postgres-nats-2] [--no-docs]`
 *
 * The update, connect and DCX ingest scenarios on three topologies started from Debian's packages
 * (src/cluster/local/): one node on embedded SQLite, one node on PostgreSQL, two nodes on
 * PostgreSQL and NATS behind a round-robin MQTT balancer. CPU per acknowledged update counts every
 * process of the topology: Tether nodes, PostgreSQL (postmaster and its backends) and nats-server.
 * Figures are printed and appended to docs/performance.md, never asserted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type LocalCluster, startLocalCluster } from '../src/cluster/local/cluster.js';
import { LoadGenerator } from './loadgen/client.js';
import type { Target } from './loadgen/device.js';
import { machineBusySeconds } from './procstat.js';
import { fmt } from './report.js';
import { PREFIX, log } from './scenarios.js';
import { DCX_PREFIX, POINTS_PER_MESSAGE } from './time-series.js';

const TOPOLOGIES = {
  'sqlite-1': { nodes: 1, shared: false, nats: false, label: 'one node, SQLite' },
  'postgres-1': { nodes: 1, shared: true, nats: false, label: 'one node, PostgreSQL' },
  'postgres-nats-2': { nodes: 2, shared: true, nats: true, label: 'two nodes, PostgreSQL + NATS' },
  // Diagnosis only (not a supported setup: nodes without a bus miss each other's kicks): what NATS costs.
  'postgres-2': { nodes: 2, shared: true, nats: false, label: 'two nodes, PostgreSQL, no bus between them' },
} as const;
type Topology = keyof typeof TOPOLOGIES;

interface Figures {
  topology: Topology;
  updates: { rate: number; p50: number; p99: number; cpuCores: number; cpuMsPerUpdate: number; othersCores: number };
  connects: { rate: number; failed: number; cpuCores: number; cpuMsPerConnect: number };
  /** 2/DCP batches of 10 samples × 5 fields (extract-all), as in `npm run bench -- --only dcx`. */
  dcx: { points: number; p99: number; cpuCores: number; cpuUsPerPoint: number };
}

/** utime + stime (+ children's, for the postmaster whose backends come and go), in seconds. */
function processCpu(pid: number, withChildren: boolean): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11]! + f[12]! + (withChildren ? f[13]! + f[14]! : 0)) / 100;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const result: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) result.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return result;
}

/** CPU seconds of each part of the topology so far. */
function topologyCpu(cluster: LocalCluster): { tether: number; postgres: number; nats: number } {
  let tether = 0;
  for (const node of cluster.nodes) tether += processCpu(node.child.pid!, false);
  const nats = cluster.nats ? processCpu(cluster.nats.pid, false) : 0;
  let postgres = 0;
  if (cluster.postgres) {
    postgres += processCpu(cluster.postgres.pid, true);
    for (const child of childrenOf(cluster.postgres.pid)) postgres += processCpu(child, false);
  }
  return { tether, postgres, nats };
}

function meter(cluster: LocalCluster): () => { cores: number; others: number; parts: string } {
  const cpu0 = topologyCpu(cluster);
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = topologyCpu(cluster);
    const parts = { tether: (cpu1.tether - cpu0.tether) / seconds, postgres: (cpu1.postgres - cpu0.postgres) / seconds, nats: (cpu1.nats - cpu0.nats) / seconds };
    const cores = parts.tether + parts.postgres + parts.nats;
    const self = process.cpuUsage(self0);
    const machine = (machineBusySeconds() - machine0) / seconds;
    return {
      cores,
      others: Math.max(0, machine - cores - (self.user + self.system) / 1e6 / seconds),
      parts: `Tether ${fmt(parts.tether, 2)}, PostgreSQL ${fmt(parts.postgres, 2)}, NATS ${fmt(parts.nats, 2)} cores`,
    };
  };
}

async function createTokens(cluster: LocalCluster, count: number): Promise<string[]> {
  const node = cluster.nodes[0]!;
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async () => {
        const response = await fetch(`http://127.0.0.1:${node.httpPort}/epr/api/v1/endpoints`, {
          method: 'POST',
          headers: { authorization: `Bearer ${cluster.adminApiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ appVersion: { name: 'demo_application_v1' } }),
        });
        if (!response.ok) throw new Error(`creating an endpoint: ${response.status} ${await response.text()}`);
        return ((await response.json()) as { token: string }).token;
      }),
    );
    tokens.push(...batch);
  }
  return tokens;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      topologies: { type: 'string', default: 'sqlite-1,postgres-1,postgres-nats-2' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  // The default run: the three supported topologies.
  const chosen = values.topologies.split(',').map((t) => t.trim()).filter((t): t is Topology => t in TOPOLOGIES);
  const seconds = values.quick ? 5 : 15;
  const devices = 200;
  const gen = new LoadGenerator();
  const results: Figures[] = [];
  try {
    for (const topology of chosen) {
      const spec = TOPOLOGIES[topology];
      log(`${topology}: starting (${spec.label})`);
      const cluster = await startLocalCluster({ nodes: spec.nodes, shared: spec.shared, nats: spec.nats, log });
      try {
        const tokens = await createTokens(cluster, devices);
        // One node: devices connect to it directly. Two: through the balancer, round-robin per connection.
        const port = cluster.nodes.length === 1 ? cluster.nodes[0]!.mqttPort : cluster.balancer.port;
        const target: Target = { host: '127.0.0.1', port, localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] };
        log(`${topology}: closed-loop update/keys, ${devices} devices × 2 in flight, ${seconds} s`);
        let m = meter(cluster);
        const updates = await gen.run({ kind: 'closed', target, prefix: PREFIX, tokens, window: 2, warmupMs: 1000, durationMs: seconds * 1000 });
        const u = m();
        log(`${topology}: ${fmt(updates.rate)} updates/s, p99 ${fmt(updates.latency.p99, 1)} ms, ${fmt(u.cores, 2)} cores, ${fmt((u.cores / updates.rate) * 1000, 3)} ms CPU/update (${u.parts})`);
        await new Promise((r) => setTimeout(r, 2000));
        log(`${topology}: connect churn, 50 in flight, ${seconds} s`);
        m = meter(cluster);
        const connects = await gen.run({ kind: 'connect-rate', target, prefix: PREFIX, tokens, concurrency: 50, durationMs: seconds * 1000, maxCount: 1_000_000, echo: false });
        const c = m();
        log(`${topology}: ${fmt(connects.rate)} connects/s (${connects.failed} failed), ${fmt(c.cores, 2)} cores`);
        await new Promise((r) => setTimeout(r, 2000));
        log(`${topology}: DCX batches (10 samples × 5 fields), ${devices} devices × 2 in flight, ${seconds} s`);
        m = meter(cluster);
        const dcx = await gen.run({ kind: 'closed', target, prefix: DCX_PREFIX, resource: 'json', body: 'dcx-batch', tokens, window: 2, warmupMs: 1000, durationMs: seconds * 1000 });
        const d = m();
        const points = dcx.rate * POINTS_PER_MESSAGE;
        log(`${topology}: ${fmt(points)} points/s, p99 ${fmt(dcx.latency.p99, 1)} ms, ${fmt(d.cores, 2)} cores (${d.parts})`);
        results.push({
          topology,
          updates: { rate: updates.rate, p50: updates.latency.p50, p99: updates.latency.p99, cpuCores: u.cores, cpuMsPerUpdate: (u.cores / updates.rate) * 1000, othersCores: u.others },
          connects: { rate: connects.rate, failed: connects.failed, cpuCores: c.cores, cpuMsPerConnect: (c.cores / Math.max(connects.rate, 1e-9)) * 1000 },
          dcx: { points, p99: dcx.latency.p99, cpuCores: d.cores, cpuUsPerPoint: (d.cores / Math.max(points, 1e-9)) * 1e6 },
        });
      } finally {
        await cluster.stop();
      }
    }
  } finally {
    await gen.close();
  }

  const sqlite = results.find((r) => r.topology === 'sqlite-1');
  const lines = [
    '| topology | updates/s | p50 / p99 ms | topology CPU (cores) | CPU ms / update | connects/s | CPU ms / connect | DCX points/s | DCX p99 ms | CPU µs / point |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${TOPOLOGIES[r.topology].label} | ${fmt(r.updates.rate)} | ${fmt(r.updates.p50, 1)} / ${fmt(r.updates.p99, 1)} | ${fmt(r.updates.cpuCores, 2)} | ${fmt(r.updates.cpuMsPerUpdate, 3)} | ${fmt(r.connects.rate)} | ${fmt(r.connects.cpuMsPerConnect, 2)} | ${fmt(r.dcx.points)} | ${fmt(r.dcx.p99, 1)} | ${fmt(r.dcx.cpuUsPerPoint, 2)} |`,
    ),
  ];
  const pg = results.find((r) => r.topology === 'postgres-1');
  const two = results.find((r) => r.topology === 'postgres-nats-2');
  const targets: string[] = [];
  if (sqlite && pg) targets.push(`- PostgreSQL node rate / SQLite node rate: **${fmt(pg.updates.rate / sqlite.updates.rate, 2)}×** (target ≥ 0.6×, issue 15)`);
  if (sqlite && two) targets.push(`- two-node cluster CPU per update / SQLite node's: **${fmt(two.updates.cpuMsPerUpdate / sqlite.updates.cpuMsPerUpdate, 2)}×** (target ≤ 2×)`);
  const busy = Math.max(0, ...results.map((r) => r.updates.othersCores));
  const report = [
    `## ${new Date().toISOString().slice(0, 19)}Z — cluster run${values.quick ? ' (quick)' : ''}`,
    '',
    `\`npm run bench:cluster${values.quick ? ' -- --quick' : ''}\` on ${os.cpus().length} cores, Node ${process.versions.node}; 200 devices × 2 updates in flight, ${seconds} s per scenario; other processes used up to ${fmt(busy, 2)} cores meanwhile.`,
    '',
    ...lines,
    '',
    ...targets,
    '',
  ].join('\n');
  process.stdout.write(`\n${report}\n`);
  if (!values['no-docs']) {
    const docs = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'performance.md');
    if (fs.existsSync(docs)) fs.appendFileSync(docs, `\n${report}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

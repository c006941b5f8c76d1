import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Balancer, startBalancer } from './balancer.js';
import { type TetherNode, startTetherNode } from './nodes.js';
import { type LocalProcess, startNats, startPostgres } from './processes.js';

/**
 * The compose.yaml topology from Debian's packages: one PostgreSQL, one nats-server, N Tether
 * nodes and a TCP balancer in front of their MQTT ports, all in one temp directory on free ports.
 * `npm run cluster` runs it for people; the benchmark runs it for measurements.
 */
export interface LocalClusterOptions {
  nodes: number;
  /** Without a database/NATS (nodes: 1), the node runs on embedded SQLite and the in-process bus. */
  shared?: boolean;
  /** With `shared`: NATS between the nodes (default true); without, each node has its in-process bus (one node on PostgreSQL). */
  nats?: boolean;
  mqttPort?: number;
  logLevel?: string;
  adminApiKey?: string;
  adminPassword?: string;
  /** Node.js flags for every node, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Keep the directory after stop (default: removed). */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface LocalCluster {
  dir: string;
  postgres?: LocalProcess;
  nats?: LocalProcess;
  databaseUrl?: string;
  natsUrl?: string;
  nodes: TetherNode[];
  balancer: Balancer;
  adminApiKey: string;
  adminPassword: string;
  stop(): Promise<void>;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const log = options.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-cluster-'));
  fs.chmodSync(dir, 0o755);
  const adminApiKey = options.adminApiKey ?? randomBytes(24).toString('base64url');
  const adminPassword = options.adminPassword ?? randomBytes(12).toString('base64url');
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const shared = options.shared ?? options.nodes > 1;
    let postgres: LocalProcess | undefined;
    let nats: LocalProcess | undefined;
    let databaseUrl: string | undefined;
    if (shared) {
      log('starting PostgreSQL and nats-server…');
      [postgres, nats] = await Promise.all([
        startPostgres({ dir: path.join(dir, 'postgres'), logFile: path.join(dir, 'postgres.log') }),
        options.nats === false ? undefined : startNats({ dir: path.join(dir, 'nats'), logFile: path.join(dir, 'nats.log') }),
      ]);
      stops.push(postgres.stop);
      if (nats) stops.push(nats.stop);
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query('CREATE DATABASE tether');
      await admin.end();
      databaseUrl = postgres.url.replace(/\/postgres$/, '/tether');
    }
    const env = { TETHER_ADMIN_API_KEY: adminApiKey, TETHER_ADMIN_PASSWORD: adminPassword, TETHER_LOG_LEVEL: options.logLevel ?? 'warn' };
    const nodes: TetherNode[] = [];
    const startNode = async (i: number) => {
      const node = await startTetherNode({
        nodeId: `node-${i}`,
        dataDir: path.join(dir, `node-${i}`),
        ...(databaseUrl && { databaseUrl }),
        ...(nats && { natsUrl: nats.url }),
        env,
        ...(options.nodeFlags && { nodeFlags: options.nodeFlags }),
      });
      stops.push(() => node.stop());
      nodes.push(node);
      log(`node-${i}: MQTT 127.0.0.1:${node.mqttPort}, dashboard and REST http://127.0.0.1:${node.httpPort}/`);
    };
    // The first node migrates the schema; the rest start together.
    await startNode(1);
    await Promise.all(Array.from({ length: options.nodes - 1 }, (_, i) => startNode(i + 2)));
    nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const balancer = await startBalancer(() => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => ({ host: '127.0.0.1', port: n.mqttPort })), options.mqttPort ?? 0);
    stops.push(balancer.close);
    return {
      dir,
      ...(postgres && { postgres, databaseUrl: databaseUrl! }),
      ...(nats && { nats, natsUrl: nats.url }),
      nodes,
      balancer,
      adminApiKey,
      adminPassword,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TetherNode, startTetherNode } from '../../src/cluster/local/nodes.js';
import { freshDatabase, sharedNats } from '../helpers/engines.js';

export interface TestCluster {
  /** Starts node `i` (its own data dir) on the shared database and NATS. */
  start(i: number): Promise<TetherNode>;
  readonly nodes: TetherNode[];
}

/**
 * Tether processes on a fresh PostgreSQL database and the shared NATS server, all started by the
 * harness; every node is SIGKILLed and the database dropped when the test ends.
 */
export async function startTestCluster(
  t: { after(fn: () => Promise<void>): void },
  options: { adminApiKey: string; adminPassword: string; prefix: string },
): Promise<TestCluster> {
  const [database, natsUrl] = await Promise.all([freshDatabase(), sharedNats()]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), options.prefix));
  const nodes: TetherNode[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await database.drop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });
  const env = { TETHER_ADMIN_API_KEY: options.adminApiKey, TETHER_ADMIN_PASSWORD: options.adminPassword, TETHER_LOG_LEVEL: 'warn' };
  return {
    nodes,
    start: async (i) => {
      const node = await startTetherNode({ nodeId: `node-${i}`, dataDir: path.join(root, `node-${i}`), databaseUrl: database.url, natsUrl, env });
      nodes.push(node);
      return node;
    },
  };
}

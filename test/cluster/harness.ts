import assert from 'node:assert/strict';
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
 * harness (or on the test's own `engines`); every node is SIGKILLed and the database dropped when the test ends.
 */
export async function startTestCluster(
  t: { after(fn: () => Promise<void>): void },
  options: { adminApiKey: string; adminPassword: string; prefix: string; engines?: { databaseUrl: string; natsUrl: string } },
): Promise<TestCluster> {
  // A test that stops the engines brings its own (own-engines.ts); the others share them.
  const [database, natsUrl] = options.engines
    ? [{ url: options.engines.databaseUrl, drop: async () => undefined }, options.engines.natsUrl]
    : await Promise.all([freshDatabase(), sharedNats()]);
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

export interface FeedEvent {
  type: string;
  endpointId: string;
  connected?: boolean;
  metadata?: unknown;
}

/** The dashboard's live feed (SSE) on `node`, signed in as the admin; `close` ends it. */
export async function openFeed(node: TetherNode, adminPassword: string): Promise<{ events: FeedEvent[]; close: () => void }> {
  const signIn = await fetch(`http://127.0.0.1:${node.httpPort}/dashboard/api/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: adminPassword }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(signIn.status, 200, await signIn.clone().text());
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${node.httpPort}/dashboard/api/events?applicationName=demo_application`, {
    headers: { cookie },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  const events: FeedEvent[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of block.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as FeedEvent);
      }
    }
  })().catch(() => undefined);
  return { events, close: () => controller.abort() };
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type LocalProcess, startNats, startPostgres } from '../../src/cluster/local/processes.js';

/**
 * A PostgreSQL or nats-server that one test owns, so it can stop and start it under load without
 * disturbing the engines the other test files share. Restarts keep the data directory and port, as an
 * operator's restart (a minor upgrade, a failover to the same address) does.
 */
export interface RestartableEngine {
  readonly url: string;
  /** Stops the engine. PostgreSQL: 'fast' (SIGINT, `pg_ctl stop -m fast`) or 'immediate' (SIGQUIT, `-m immediate`: no checkpoint, crash recovery at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

type Starter = (dir: string, port: number | undefined) => Promise<LocalProcess>;

async function restartable(prefix: string, starter: Starter, urlFor: (p: LocalProcess) => string): Promise<RestartableEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  let current: LocalProcess | undefined = await starter(path.join(dir, 'engine'), undefined);
  const port = current.port;
  const url = urlFor(current);
  return {
    url,
    async stop(mode = 'fast') {
      const running = current;
      current = undefined;
      if (!running) return;
      if (mode === 'immediate') {
        process.kill(running.pid, 'SIGQUIT');
        await waitGone(running.pid);
      }
      await running.stop();
    },
    async start() {
      if (current) return;
      current = await starter(path.join(dir, 'engine'), port);
    },
    async dispose() {
      await current?.stop();
      current = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not exit within 15 s`);
}

/** A PostgreSQL of the test's own; its URL names database `postgres`. */
export function ownPostgres(): Promise<RestartableEngine> {
  return restartable('tether-own-pg-', (dir, port) => startPostgres({ dir, fast: true, ...(port !== undefined && { port }) }), (p) => p.url);
}

export function ownNats(): Promise<RestartableEngine> {
  return restartable('tether-own-nats-', (dir, port) => startNats({ dir, ...(port !== undefined && { port }) }), (p) => p.url);
}

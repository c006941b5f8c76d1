import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startNats, startPostgres } from '../../src/cluster/local/processes.js';

/**
 * ONE PostgreSQL and ONE nats-server for the whole `node --test` run, shared by every test file
 * (each file is its own process): the first file that needs an engine starts it in a directory
 * named after the test runner's pid, the others find it there. A detached watchdog stops the
 * engines and removes the directory when the runner exits, however it exits. Each test gets a
 * database of its own, so files never see each other's data.
 */
const runDir = path.join(os.tmpdir(), `tether-engines-${process.ppid}`);
const START_DEADLINE_MS = 90_000;

interface EngineInfo {
  url: string;
  pid: number;
}

async function shared(name: 'postgres' | 'nats', start: (dir: string) => Promise<EngineInfo>): Promise<string> {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const infoFile = path.join(runDir, `${name}.json`);
  const lock = path.join(runDir, `${name}.lock`);
  let owner = false;
  try {
    fs.mkdirSync(lock);
    owner = true;
  } catch {
    // Another test file is starting it (or has).
  }
  if (owner) {
    try {
      const info = await start(path.join(runDir, name));
      startWatchdog(info.pid);
      fs.writeFileSync(`${infoFile}.tmp`, JSON.stringify(info));
      fs.renameSync(`${infoFile}.tmp`, infoFile);
    } catch (err) {
      fs.writeFileSync(infoFile, JSON.stringify({ error: String(err) }));
      throw err;
    }
  }
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!fs.existsSync(infoFile)) {
    if (Date.now() > deadline) throw new Error(`${name} for the tests did not start within ${START_DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as EngineInfo & { error?: string };
  if (info.error) throw new Error(`${name} for the tests failed to start: ${info.error}`);
  return info.url;
}

function startWatchdog(pid: number): void {
  const script = fileURLToPath(new URL('./engines-watchdog.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(process.ppid), String(pid), runDir], { detached: true, stdio: 'ignore' });
  child.unref();
}

let postgresUrl: Promise<string> | undefined;
let natsUrl: Promise<string> | undefined;

/** The shared server's admin URL (database `postgres`). */
export function sharedPostgres(): Promise<string> {
  return (postgresUrl ??= shared('postgres', async (dir) => {
    const started = await startPostgres({ dir, fast: true, deadlineMs: START_DEADLINE_MS, logFile: path.join(runDir, 'postgres.log') });
    return { url: started.url, pid: started.pid };
  }));
}

export function sharedNats(): Promise<string> {
  return (natsUrl ??= shared('nats', async (dir) => {
    const started = await startNats({ dir, deadlineMs: START_DEADLINE_MS, logFile: path.join(runDir, 'nats.log') });
    return { url: started.url, pid: started.pid };
  }));
}

/** A fresh, empty database on the shared server; `drop` removes it. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = await sharedPostgres();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = admin.replace(/\/postgres$/, `/${name}`);
  return {
    url,
    drop: () => withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** True when PostgreSQL and nats-server binaries are installed (CI installs them in .ci/run). */
export function enginesInstalled(): boolean {
  return fs.existsSync('/usr/lib/postgresql') && ['/usr/sbin/nats-server', '/usr/bin/nats-server'].some((p) => fs.existsSync(p));
}

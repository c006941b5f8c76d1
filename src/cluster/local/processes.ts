import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Starting the engines Tether grows onto (PostgreSQL, nats-server) from Debian's packages, for
 * tests, benchmarks and `npm run cluster`. Every wait has a deadline; every start can be undone.
 */

/** Debian keeps initdb and postgres off PATH, one directory per major version. */
function postgresBinDir(): string {
  const fromEnv = process.env['TETHER_PG_BIN'];
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(dir, 'postgres'))) return dir;
  }
  throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/<version>/bin: apt-get install postgresql (or set TETHER_PG_BIN)');
}

function natsServerBinary(): string {
  for (const candidate of [process.env['TETHER_NATS_SERVER'], '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('nats-server not found: apt-get install nats-server (or set TETHER_NATS_SERVER)');
}

/** A port free right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` system user. */
function asServiceUser(command: string, args: string[]): { command: string; args: string[] } {
  // setpriv execs in place (runuser would stay as a parent), so the pid we hold is PostgreSQL's own.
  if (process.getuid?.() === 0) return { command: 'setpriv', args: ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args] };
  return { command, args };
}

function chownToServiceUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const out = spawnSyncText('id', ['-u', 'postgres']);
  const gid = spawnSyncText('id', ['-g', 'postgres']);
  fs.chownSync(dir, Number(out), Number(gid));
}

function spawnSyncText(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' }).trim();
}

function run(command: string, args: string[], deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took longer than ${deadlineMs} ms`));
    }, deadlineMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; rejects after the deadline or if the process exits. */
async function waitForPort(port: number, child: ChildProcess, what: string, deadlineMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited while starting: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not accept connections on port ${port} within ${deadlineMs} ms: ${log()}`);
}

/**
 * Without `logFile` the process's stderr is kept in memory for error messages and the process is
 * tied to this one. With it, output goes to the file and the process is unref'd and in its own
 * process group: it may outlive this process (whoever started it must stop it).
 */
function spawnLogged(command: string, args: string[], logFile: string | undefined): { child: ChildProcess; log: () => string } {
  if (logFile !== undefined) {
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    child.unref();
    return { child, log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-4000).trim() : '') };
  }
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  return { child, log: () => log.trim() };
}

export interface LocalProcess {
  url: string;
  port: number;
  pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after a deadline). Idempotent. */
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    }));
}

export interface PostgresOptions {
  /** Empty or missing directory that will hold the cluster's data and socket. */
  dir: string;
  port?: number;
  /** Tests trade durability for speed (fsync off); the cluster script keeps PostgreSQL's defaults. */
  fast?: boolean;
  deadlineMs?: number;
  /** Log to this file and let the process outlive this one (a shared test engine, the cluster script). */
  logFile?: string;
}

/** initdb + postgres on 127.0.0.1:<port>, trust authentication for user `postgres`. */
export async function startPostgres(options: PostgresOptions): Promise<LocalProcess> {
  const bin = postgresBinDir();
  const deadlineMs = options.deadlineMs ?? 60_000;
  fs.mkdirSync(options.dir, { recursive: true });
  chownToServiceUser(options.dir);
  const data = path.join(options.dir, 'data');
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    const initdb = asServiceUser(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    await run(initdb.command, initdb.args, deadlineMs);
  }
  const port = options.port ?? (await freePort());
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${options.dir}`, '-c', 'max_connections=200', '-c', 'shared_buffers=64MB'];
  if (options.fast) settings.push('-c', 'fsync=off', '-c', 'full_page_writes=off');
  const postgres = asServiceUser(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), ...settings]);
  const { child, log } = spawnLogged(postgres.command, postgres.args, options.logFile);
  const stop = stopper(child, 'SIGINT', 10_000); // SIGINT: PostgreSQL's "fast" shutdown
  try {
    await waitForPort(port, child, 'postgres', deadlineMs, log);
    // Accepting TCP is not ready to serve: wait until a connection can run a query.
    await waitForQuery(`postgres://postgres@127.0.0.1:${port}/postgres`, deadlineMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid: child.pid!, stop };
}

async function waitForQuery(url: string, deadlineMs: number): Promise<void> {
  const { default: pg } = await import('pg');
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface NatsOptions {
  dir: string;
  port?: number;
  deadlineMs?: number;
  logFile?: string;
}

/** nats-server with JetStream, its store in `dir`. */
export async function startNats(options: NatsOptions): Promise<LocalProcess> {
  const deadlineMs = options.deadlineMs ?? 30_000;
  fs.mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const { child, log } = spawnLogged(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', options.dir], options.logFile);
  const stop = stopper(child, 'SIGTERM', 5_000);
  try {
    await waitForPort(port, child, 'nats-server', deadlineMs, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `nats://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}

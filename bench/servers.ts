/**
 * The brokers under test run as child processes so the load generator never shares their event
 * loop. Every child is registered and killed on exit, error or Ctrl-C.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const children = new Set<ChildProcess>();

export function installCleanup(onInterrupt: () => void): void {
  const killAll = () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      onInterrupt();
      killAll();
      process.exit(130);
    });
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningServer {
  name: string;
  pid: number;
  mqttPort: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Spawns through `sh` to raise the soft descriptor limit to the hard one: 10,000 devices need
 * 10,000 sockets in the broker on top of its files.
 */
function spawnWithFdLimit(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string }): ChildProcess {
  const quoted = [command, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn('sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves once something accepts TCP connections on the port; rejects if the child exits first. */
async function waitForPort(child: ChildProcess, port: number, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before listening:\n${tail(logFile)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface TetherServer extends RunningServer {
  httpPort: number;
  adminKey: string;
}

export async function startTether(options: {
  entry: string;
  dataDir: string;
  adminKey: string;
  logFile: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  cwd?: string;
}): Promise<TetherServer> {
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const args = [
    ...(options.nodeFlags ?? []),
    options.entry,
    'start',
    '--mqtt-port',
    String(mqttPort),
    '--http-port',
    String(httpPort),
    '--data-dir',
    options.dataDir,
    '--host',
    '127.0.0.1',
  ];
  const child = spawnWithFdLimit(process.execPath, args, {
    env: { ...process.env, TETHER_ADMIN_API_KEY: options.adminKey },
    logFile: options.logFile,
    cwd: options.cwd,
  });
  await waitForPort(child, mqttPort, options.logFile);
  await waitForPort(child, httpPort, options.logFile);
  return {
    name: 'Tether',
    pid: child.pid!,
    mqttPort,
    httpPort,
    adminKey: options.adminKey,
    logFile: options.logFile,
    // Tether drains its storage on SIGTERM; give it time so --cpu-prof files get written too.
    stop: () => stopChild(child, 15_000),
  };
}

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function mosquittoAvailable(): boolean {
  try {
    fs.accessSync(MOSQUITTO, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function startMosquitto(workDir: string): Promise<RunningServer> {
  const mqttPort = await freePort();
  const logFile = path.join(workDir, 'mosquitto.log');
  const conf = path.join(workDir, 'mosquitto.conf');
  // The plain-broker reference: in-memory only, no auth, no connection cap, and TCP_NODELAY as
  // Tether sets it on its sockets (without it mosquitto's latency at low rates is Nagle's delay, not
  // its own). Other settings are Debian's defaults, as Tether runs with its own defaults.
  fs.writeFileSync(
    conf,
    [
      `listener ${mqttPort} 127.0.0.1`,
      'allow_anonymous true',
      'max_connections -1',
      'persistence false',
      'set_tcp_nodelay true',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child = spawnWithFdLimit(MOSQUITTO, ['-c', conf], { logFile: path.join(workDir, 'mosquitto.out') });
  await waitForPort(child, mqttPort, logFile);
  return { name: 'mosquitto', pid: child.pid!, mqttPort, logFile, stop: () => stopChild(child, 5_000) };
}

export function mosquittoVersion(): string {
  if (!mosquittoAvailable()) return 'not installed';
  try {
    // `mosquitto -h` prints its version on the first line and exits non-zero.
    const out = spawnSyncText(MOSQUITTO, ['-h']);
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function spawnSyncText(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

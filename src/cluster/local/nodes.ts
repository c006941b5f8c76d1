import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (dist/src/cli/main.js), next to this compiled module's folder. */
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface NodeOptions {
  nodeId: string;
  dataDir: string;
  databaseUrl?: string;
  natsUrl?: string;
  host?: string;
  /** 0 (default) picks free ports; the banner tells which. */
  mqttPort?: number;
  httpPort?: number;
  /** Extra environment (admin key and password, log level); other TETHER_* variables of this process are not passed on. */
  env?: Record<string, string>;
  /** Node.js flags before the script, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Deadline for the banner (default 60 s). */
  startDeadlineMs?: number;
}

export interface TetherNode {
  nodeId: string;
  child: ChildProcessWithoutNullStreams;
  mqttPort: number;
  httpPort: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGTERM (graceful) or SIGKILL; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `tether start` as a child process; resolves once its banner names its ports. */
export async function startTetherNode(options: NodeOptions): Promise<TetherNode> {
  const host = options.host ?? '127.0.0.1';
  const args = [...(options.nodeFlags ?? []), MAIN, 'start', '--host', host, '--mqtt-port', String(options.mqttPort ?? 0), '--http-port', String(options.httpPort ?? 0), '--data-dir', options.dataDir, '--node-id', options.nodeId];
  if (options.databaseUrl) args.push('--database-url', options.databaseUrl);
  if (options.natsUrl) args.push('--nats-url', options.natsUrl);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  const child = spawn(process.execPath, args, { env: { ...env, ...options.env } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const deadlineMs = options.startDeadlineMs ?? 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${options.nodeId} did not start within ${deadlineMs} ms:\n${out}`)), deadlineMs);
      const check = () => {
        if (out.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', check);
      void exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`node ${options.nodeId} exited (${exit.code ?? exit.signal}):\n${out}`));
      });
    });
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  const mqtt = /MQTT \(1\/KP\):\s+listening on [^\s]+:(\d+)/.exec(out);
  const http = /Dashboard \+ API:\s+listening on [^\s]+:(\d+)/.exec(out);
  if (!mqtt || !http) {
    await stop('SIGKILL');
    throw new Error(`node ${options.nodeId}: no ports in the banner:\n${out}`);
  }
  return { nodeId: options.nodeId, child, mqttPort: Number(mqtt[1]), httpPort: Number(http[1]), exited, output: () => out, stop };
}

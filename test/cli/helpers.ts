/** The built `tether` command as a user runs it: child processes, a real `tether start`, temp dirs. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asJson, httpCall } from '../helpers/http.js';
import { tempDir } from '../helpers/tmp.js';

// The compiled CLI next to this compiled test (dist/ or a private build dir alike).
export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return { ...env, ...extra };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tether(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: childEnv(env), timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

export function assertOneLineError(result: Result, pattern: RegExp): void {
  assert.equal(result.code, 1, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

export interface Server {
  child: ChildProcessWithoutNullStreams;
  mqttPort: number;
  httpPort: number;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** `tether start` on free ports; resolves once it printed where it listens. */
export async function startServer(t: { after(fn: () => unknown): void }, dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [MAIN, 'start', '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--data-dir', dataDir], {
    env: childEnv({ TETHER_LOG_LEVEL: 'warn' }),
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes('Press Ctrl+C to stop.')) resolve();
    };
    child.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`tether start exited with ${code}: ${err}`)));
  });
  const mqtt = /MQTT \(1\/KP\):\s+listening on 127\.0\.0\.1:(\d+)/.exec(out);
  const http = /Dashboard \+ API:\s+listening on 127\.0\.0\.1:(\d+)/.exec(out);
  assert.ok(mqtt && http, `ports in the banner:\n${out}`);
  return { child, mqttPort: Number(mqtt[1]), httpPort: Number(http[1]), stdout: () => out, exited };
}

export { tempDir };

export interface Background {
  output: () => string;
  /** Resolves once the output (stdout and stderr) matches, with the match; fails on the deadline or an early exit. */
  waitFor: (pattern: RegExp, what: string, timeoutMs?: number) => Promise<RegExpMatchArray>;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  stop: () => Promise<number | null>;
  /** Resolves with the exit code once the process ends by itself; fails on the deadline. */
  exit: (timeoutMs?: number) => Promise<number | null>;
}

/** A long-running `tether …` (e.g. `device --observe`), killed when the test ends if still running. */
export function background(t: { after(fn: () => unknown): void }, args: string[], env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(process.execPath, [MAIN, ...args], { env: childEnv(env) });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    output: () => out,
    async waitFor(pattern, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out);
        if (match) return match;
        if (gone) throw new Error(`the process exited before ${what}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop() {
      if (!gone) child.kill('SIGINT');
      return exited;
    },
    exit(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for the process to exit:\n${out}`)), timeoutMs);
      });
      return Promise.race([exited, deadline]).finally(() => clearTimeout(timer));
    },
  };
}

export interface Setup {
  server: Server;
  dataDir: string;
  api: string[];
  key: string;
  rest: <T>(method: string, route: string, body?: unknown) => Promise<{ status: number; body: T }>;
  createEndpoint: () => Promise<{ endpointId: string; token: string }>;
}

/** `tether start` on free ports with REST calls and endpoint creation under its admin API key. */
export async function setup(t: { after(fn: () => unknown): void }): Promise<Setup> {
  const dataDir = tempDir(t);
  const server = await startServer(t, dataDir);
  const key = fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
  const base = `http://127.0.0.1:${server.httpPort}`;
  const rest = async <T>(method: string, route: string, body?: unknown) => {
    const reply = await httpCall(base, method, route, { auth: key, body: asJson(body) });
    return { status: reply.status, body: reply.json as T };
  };
  const createEndpoint = async () => {
    const created = await rest<{ endpointId: string; token: string }>('POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  };
  return { server, dataDir, api: ['--api', base, '--data-dir', dataDir], key, rest, createEndpoint };
}

/**
 * Issue 18's traps that live in the repository itself: npm scripts and the README a new user
 * follows from a fresh clone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { packageRoot } from '../../src/platform/package-root.js';

const root = packageRoot();
const scripts = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** A script with every `npm run X` replaced by X's own command, recursively. */
function expand(name: string, seen: Set<string> = new Set()): string {
  assert.ok(!seen.has(name), `script ${name} runs itself`);
  const command = scripts[name];
  assert.ok(command !== undefined, `no script ${name}`);
  return command.replace(/npm run ([\w:-]+)/g, (_, inner: string) => `(${expand(inner, new Set([...seen, name]))})`);
}

test('running the cluster keeps the built dashboard', () => {
  // Scripts that run something next to a server already running deletes nothing at all.
  for (const name of ['cluster', 'bench', 'bench:cluster', 'bench:chart', 'fuzz', 'start']) {
    assert.doesNotMatch(expand(name), /\brm\b|rimraf|--clean/, `npm run ${name}: ${expand(name)}`);
  }
  // The server build cleans only what tsc writes: dist/web is the dashboard build's.
  const removed = [...expand('build:server').matchAll(/\brm -rf ([^&|;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
  assert.ok(removed.length > 0);
  for (const target of removed) {
    assert.match(target, /^dist\/(src|test|bench)$/, `build:server removes ${target}`);
  }
});

test('the README\'s time series read finds data sent today', () => {
  const reads = readme.split('\n').filter((line) => /time-series\/data\?/.test(line) && !line.includes('…'));
  assert.ok(reads.length > 0);
  for (const line of reads) assert.doesNotMatch(line, /fromDate=\d{4}-\d\d-\d\d/, `fixed dates: ${line}`);
  // A sample with a fixed old timestamp would be stored in the past, out of that range.
  assert.doesNotMatch(readme, /mosquitto_pub[^\n]*\n?[^\n]*"timestamp": 1555230312868/);
});

test('the README\'s command line table lists the commands', () => {
  const section = readme.split('\n## Command line')[1]?.split('\n## ')[0] ?? '';
  const rows = section.split('\n').filter((line) => /^\| `tether /.test(line));
  for (const command of ['start', 'device', 'endpoints', 'tokens', 'users', 'admin', 'api-keys', 'audit']) {
    assert.ok(rows.some((row) => row.startsWith(`| \`tether ${command}`)), `no row for tether ${command}`);
  }
});

test('npm install on Node 20 meets no package that wants a newer Node (EBADENGINE)', async () => {
  const { default: semver } = await import('semver');
  const engines = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const oldest = semver.minVersion(engines)!.version;
  assert.equal(semver.major(oldest), 20, 'the README supports Node 20');
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string }; optional?: boolean }> };
  const wantNewer = Object.entries(lock.packages)
    .filter(([name, entry]) => name !== '' && entry.optional !== true && entry.engines?.node !== undefined && !semver.satisfies(oldest, entry.engines.node))
    .map(([name, entry]) => `${name} (node ${entry.engines!.node})`);
  assert.deepEqual(wantNewer, [], 'override these in package.json to versions that support Node 20, or say so in the README');
});

test('npx tether in the clone runs the installed CLI without rebuilding it', async () => {
  // npx installs the clone into its cache as a package to run its bin, which runs `prepare`: that must
  // not rebuild (it would delete dist/ under a running server, and take 13 s per call).
  assert.equal(scripts['prepare'], 'node bin/prepare.js');
  const built = fs.statSync(path.join(root, 'dist/src/cli/main.js')).mtimeMs;
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)('npx', ['tether', '--version'], { cwd: root, timeout: 20_000 });
  assert.match(stdout, /^\d+\.\d+\.\d+/);
  assert.equal(fs.statSync(path.join(root, 'dist/src/cli/main.js')).mtimeMs, built, 'dist/ was rebuilt');
});

/**
 * Online backup and restore of a single node's data directory (SQLite). `VACUUM INTO` copies each
 * database inside one read transaction: a consistent snapshot of that file, taken while the server
 * keeps writing (WAL readers never block the writer, and the copy never restarts the way the page
 * backup API does under a busy writer). tether.db holds the register, tokens, client credentials,
 * accounts and time series; control.db configurations and commands; software.db software versions,
 * what endpoints run and open offers; rollouts.db software rollouts; packages.db software package
 * files; admin-api-key the key file.
 *
 * The backup is one file: a JSON header line (format, version, the files and their sizes) followed
 * by the files' bytes in that order, so `tether restore` needs nothing but Node to unpack it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { errors } from '../core/errors.js';

const FORMAT = 'tether-backup';
const VERSION = 1;
/** Databases copied with VACUUM INTO, and small files copied as they are; missing ones are skipped. */
const DATABASES = ['tether.db', 'control.db', 'software.db', 'rollouts.db', 'packages.db'] as const;
const FILES = ['admin-api-key'] as const;
const MAX_HEADER_BYTES = 64 * 1024;

interface Header {
  format: typeof FORMAT;
  version: number;
  createdAt: string;
  files: Array<{ name: string; size: number }>;
}

export interface BackupResult {
  file: string;
  bytes: number;
  files: string[];
}

/** Takes a consistent backup of `dataDir` into `file` (written beside, then renamed: never half a file). */
export async function backupDataDir(dataDir: string, file: string): Promise<BackupResult> {
  const main = path.join(dataDir, 'tether.db');
  if (!(await exists(main))) throw errors.dataDirUnusable(dataDir, 'it holds no tether.db (is it the data directory of a single node? nodes on PostgreSQL are backed up with pg_dump, see docs/operations.md)');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tether-backup-'));
  try {
    const parts: Array<{ name: string; path: string }> = [];
    for (const name of DATABASES) {
      const source = path.join(dataDir, name);
      if (!(await exists(source))) continue;
      const copy = path.join(work, name);
      // A read-write connection, though it only reads: a read-only one cannot open a WAL file whose -shm is missing.
      const db = new Database(source, { fileMustExist: true });
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('VACUUM INTO ?').run(copy);
      } finally {
        db.close();
      }
      parts.push({ name, path: copy });
    }
    for (const name of FILES) {
      const source = path.join(dataDir, name);
      if (await exists(source)) parts.push({ name, path: source });
    }
    const sized = await Promise.all(parts.map(async (p) => ({ ...p, size: (await fs.stat(p.path)).size })));
    const header: Header = { format: FORMAT, version: VERSION, createdAt: new Date().toISOString(), files: sized.map(({ name, size }) => ({ name, size })) };
    const partial = `${file}.partial`;
    const out = createWriteStream(partial);
    await new Promise<void>((resolve, reject) => out.write(`${JSON.stringify(header)}\n`, (err) => (err ? reject(err) : resolve())));
    for (const part of sized) await pipeline(createReadStream(part.path), out, { end: false });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fs.rename(partial, file);
    return { file, bytes: (await fs.stat(file)).size, files: sized.map((p) => p.name) };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Unpacks a backup into `dataDir`, which must hold no Tether data yet (nothing is overwritten). */
export async function restoreDataDir(file: string, dataDir: string): Promise<{ files: string[] }> {
  const handle = await fs.open(file, 'r').catch(() => {
    throw errors.configInvalid('backup file', `${file} cannot be read`);
  });
  let header: Header;
  let offset: number;
  try {
    const head = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const newline = head.subarray(0, bytesRead).indexOf(0x0a);
    header = parseHeader(newline < 0 ? undefined : head.subarray(0, newline).toString('utf8'), file);
    offset = newline + 1;
    const expected = offset + header.files.reduce((n, f) => n + f.size, 0);
    const { size } = await handle.stat();
    if (size !== expected) throw errors.configInvalid('backup file', `${file} is ${size} bytes, its header says ${expected}: it is truncated or damaged`);
  } finally {
    await handle.close();
  }
  await fs.mkdir(dataDir, { recursive: true });
  for (const name of [...DATABASES, ...FILES]) {
    if (await exists(path.join(dataDir, name))) throw errors.dataDirUnusable(dataDir, `it already holds ${name}; restore into an empty data directory (stop Tether and move the old one away first)`);
  }
  for (const part of header.files) {
    const target = path.join(dataDir, part.name);
    if (part.size > 0) await pipeline(createReadStream(file, { start: offset, end: offset + part.size - 1 }), createWriteStream(target, { mode: part.name === 'admin-api-key' ? 0o600 : 0o644 }));
    else await fs.writeFile(target, '');
    offset += part.size;
  }
  return { files: header.files.map((f) => f.name) };
}

function parseHeader(line: string | undefined, file: string): Header {
  let header: Partial<Header> | undefined;
  try {
    header = line === undefined ? undefined : (JSON.parse(line) as Partial<Header>);
  } catch {
    header = undefined;
  }
  if (header?.format !== FORMAT || !Array.isArray(header.files)) throw errors.configInvalid('backup file', `${file} is not a Tether backup (made by npx tether backup)`);
  if (header.version !== VERSION) throw errors.configInvalid('backup file', `${file} is a version ${String(header.version)} backup; this Tether reads version ${VERSION}. Restore it with the Tether that made it`);
  const known = new Set<string>([...DATABASES, ...FILES]);
  for (const f of header.files) {
    if (!known.has(f.name) || !Number.isSafeInteger(f.size) || f.size < 0) throw errors.configInvalid('backup file', `${file} lists an unexpected part ${JSON.stringify(f.name)}: it is damaged`);
  }
  return header as Header;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

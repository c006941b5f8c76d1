import path from 'node:path';
import { parseFlags } from '../../config/flags.js';
import { dataDirFor } from '../../config/settings.js';
import { errors } from '../../core/errors.js';
import { type Command, wantsHelp } from '../command.js';
import type { Io } from '../io.js';

const FLAGS = { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

const backupHelp = `Usage: npx tether backup <file> [--data-dir <dir>]

Takes a consistent backup of a single node's data directory into <file>, while Tether runs and
devices write (SQLite VACUUM INTO: each database is copied inside one read transaction). It holds
endpoints, tokens, client credentials, accounts, time series, configurations, commands and the
admin API key file. Nodes on PostgreSQL are backed up with pg_dump (docs/operations.md).

  --data-dir <dir>   the data directory (default TETHER_DATA_DIR, else ./data)`;

const restoreHelp = `Usage: npx tether restore <file> [--data-dir <dir>]

Unpacks a backup made by npx tether backup into an empty data directory (created when missing);
then start Tether on it. Devices connect with their old tokens.

  --data-dir <dir>   the data directory to restore into (default TETHER_DATA_DIR, else ./data)`;

function target(argv: string[], io: Io, usage: string): { file: string; dataDir: string } {
  const { values, positionals } = parseFlags(argv, FLAGS, { usage, maxPositionals: 1 });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw errors.configInvalid('arguments', `name one backup file (${usage})`);
  return { file: path.resolve(io.cwd, file), dataDir: dataDirFor(values['data-dir'], io.env, io.cwd) };
}

export const backupCommand: Command = {
  name: 'backup',
  help: backupHelp,
  async run(argv, io) {
    if (wantsHelp(argv)) {
      io.out(backupHelp);
      return 0;
    }
    const { file, dataDir } = target(argv, io, 'npx tether backup <file> [--data-dir <dir>]');
    const { backupDataDir } = await import('../../ops/backup.js');
    const started = Date.now();
    const result = await backupDataDir(dataDir, file);
    io.out(`Backed up ${dataDir} (${result.files.join(', ')}) to ${result.file}: ${(result.bytes / 1048576).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  help: restoreHelp,
  async run(argv, io) {
    if (wantsHelp(argv)) {
      io.out(restoreHelp);
      return 0;
    }
    const { file, dataDir } = target(argv, io, 'npx tether restore <file> [--data-dir <dir>]');
    const { restoreDataDir } = await import('../../ops/backup.js');
    const result = await restoreDataDir(file, dataDir);
    io.out(`Restored ${result.files.join(', ')} into ${dataDir}. Start Tether on it: npx tether start --data-dir ${dataDir}`);
    return 0;
  },
};

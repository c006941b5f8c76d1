import { parseFlags } from '../../config/flags.js';
import { dataDirFor } from '../../config/settings.js';
import { errors } from '../../core/errors.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import type { Io } from '../io.js';

const help = `Usage: npx tether admin reset-password [--user <name>] [--create] [--stdin] [--data-dir <dir> | --database-url <url>]

A way back in: sets a user's dashboard password directly in the data directory (or, for nodes on
PostgreSQL, in their database), without the server and without signing in (run it on the machine
Tether runs on, as the user that owns the data). Works whether Tether is running or stopped; the
user's existing sessions end.

  --user <name>      the user (default admin); it must exist unless --create is given
  --create           create the user with the admin role if it does not exist (without it, a
                     mistyped name is an error, not a new administrator)
  --stdin            read the new password from standard input (first line) instead of
                     generating one, e.g.  printf '%s\\n' "$PASSWORD" | npx tether admin reset-password --stdin
  --data-dir <dir>   the data directory (default TETHER_DATA_DIR, else ./data)
  --database-url <url>  the PostgreSQL database of nodes on PostgreSQL (default TETHER_DATABASE_URL);
                     when set, the data directory is not used

Prints the new password when it was generated. Other users can be managed over REST or with
npx tether users (with an admin API key).`;

const FLAGS = {
  user: { type: 'string' },
  stdin: { type: 'boolean' },
  create: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const adminCommand: Command = {
  name: 'admin',
  help,
  run(argv, io) {
    return runAction(adminCommand, { 'reset-password': resetPassword }, argv, io);
  },
};

async function resetPassword(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, { usage: 'see npx tether admin --help' });
  const username = values.user ?? 'admin';
  const dataDir = dataDirFor(values['data-dir'], io.env, io.cwd);
  let password: string | undefined;
  if (values.stdin === true) {
    if (!io.readStdin) throw errors.configInvalid('--stdin', 'standard input cannot be read here');
    password = (await io.readStdin()).split(/\r?\n/)[0] ?? '';
  }
  // Loaded on use: SQLite, PostgreSQL and scrypt are not needed by the other commands.
  const { resetPasswordOffline } = await import('../../accounts/recovery.js');
  const { selectDatabase } = await import('../../platform/backends.js');
  const databaseUrl = values['database-url'] ?? (io.env['TETHER_DATABASE_URL'] || undefined);
  const database = selectDatabase({ dataDir, storage: databaseUrl !== undefined ? { kind: 'postgres', url: databaseUrl, synchronous: 'full' } : { kind: 'sqlite', synchronous: 'full' } });
  const result = await resetPasswordOffline({ openStore: () => database.accounts.openExisting(), username, create: values.create === true, ...(password !== undefined && { password }) });
  const where = database.storage.where;
  io.out(`${result.created ? 'Created admin user' : 'Password reset for user'} "${username}" in ${where}.${result.created ? '' : ' Their sessions have ended.'}`);
  if (result.generatedPassword !== undefined) {
    io.out('New password (shown only this once):');
    io.out(`  ${result.generatedPassword}`);
  }
  io.out('Sign in to the dashboard with it; change it there or with PUT /api/v1/me/password.');
  return 0;
}

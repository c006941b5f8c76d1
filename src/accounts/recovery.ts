import { USERNAME_PATTERN } from '../core/accounts.js';
import { systemClock } from '../core/clock.js';
import { didYouMean } from '../core/did-you-mean.js';
import { errors } from '../core/errors.js';
import type { AccountStorage } from '../storage/accounts.js';
import { checkPassword, generatePassword, hashPassword } from './passwords.js';

/**
 * `npx tether admin reset-password`: straight to the database, no server, no sign-in: `openStore`
 * opens the data directory's SQLite file or the PostgreSQL database of a cluster (the CLI picks it
 * with src/platform/backends.ts). The user's sessions are deleted, and the password change date
 * moves forward, which ends them in a running server in any case (sessions older than the last
 * password change are refused).
 */
export async function resetPasswordOffline(options: { openStore: () => Promise<AccountStorage>; username: string; password?: string; create?: boolean }): Promise<{ created: boolean; generatedPassword?: string }> {
  if (!USERNAME_PATTERN.test(options.username)) throw errors.usernameInvalid(options.username);
  const password = options.password ?? generatePassword();
  checkPassword(password);
  const store = await options.openStore();
  try {
    // A typo in --user must not create an administrator: creating takes an explicit --create.
    if (options.create !== true && (await store.getUser(options.username)) === undefined) {
      const users = (await store.listUsers()).map((user) => user.username);
      const near = didYouMean(options.username, users);
      throw errors.configInvalid(
        `--user "${options.username}"`,
        `there is no such user${near} (users: ${users.join(', ') || 'none'}); to create it as an administrator, add --create`,
      );
    }
    const passwordHash = await hashPassword(password);
    const now = systemClock.iso();
    const existing = await store.getUser(options.username);
    if (existing) {
      await store.updateUser(options.username, { passwordHash, passwordChangedDate: now });
      await store.deleteUserSessions(options.username);
    } else {
      await store.insertUser({ username: options.username, role: 'admin', passwordHash, createdDate: now, passwordChangedDate: now, lastSignInDate: null });
    }
    await store.appendAudit({
      at: now,
      actor: { kind: 'cli', name: process.env.USER ?? process.env.USERNAME ?? 'unknown', role: null },
      clientAddress: null,
      action: existing ? 'user.reset-password' : 'user.create',
      method: 'CLI',
      path: 'tether admin reset-password',
      endpointId: null,
      target: options.username,
      before: existing ? { role: existing.role } : null,
      after: { role: existing?.role ?? 'admin' },
    });
    return { created: !existing, ...(options.password === undefined && { generatedPassword: password }) };
  } finally {
    await store.close();
  }
}

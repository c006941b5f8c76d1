import { access } from 'node:fs/promises';
import path from 'node:path';
import { USERNAME_PATTERN } from '../core/accounts.js';
import { systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import { openSqliteAccountStorage } from '../storage/sqlite/accounts.js';
import { checkPassword, generatePassword, hashPassword } from './passwords.js';

/**
 * `npx tether admin reset-password`: straight to the data directory's database, no server, no
 * sign-in. The password change date moves forward, which ends the user's sessions even in a
 * running server (sessions older than the last password change are refused).
 */
export async function resetPasswordOffline(options: { dataDir: string; username: string; password?: string }): Promise<{ created: boolean; generatedPassword?: string }> {
  const file = path.join(options.dataDir, 'tether.db');
  try {
    await access(file);
  } catch {
    throw errors.dataDirUnusable(options.dataDir, 'it holds no tether.db (has Tether been started with it?)');
  }
  if (!USERNAME_PATTERN.test(options.username)) throw errors.usernameInvalid(options.username);
  const password = options.password ?? generatePassword();
  checkPassword(password);
  const store = await openSqliteAccountStorage({ file });
  try {
    const passwordHash = await hashPassword(password);
    const now = systemClock.iso();
    const existing = await store.getUser(options.username);
    if (existing) {
      await store.updateUser(options.username, { passwordHash, passwordChangedDate: now });
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

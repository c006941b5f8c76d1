import type { Clock } from '../core/clock.js';
import { type Role, type UserRecord, USERNAME_PATTERN } from '../core/accounts.js';
import { errors, isTetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';
import { checkPassword, generatePassword, hashPassword, verifyPassword } from './passwords.js';

export const BOOTSTRAP_ADMIN = 'admin';

/** What REST answers for a user: everything but the hash. */
export interface UserView {
  username: string;
  role: Role;
  createdDate: string;
  passwordChangedDate: string;
  lastSignInDate: string | null;
}

export const userView = (u: UserRecord): UserView => ({
  username: u.username,
  role: u.role,
  createdDate: u.createdDate,
  passwordChangedDate: u.passwordChangedDate,
  lastSignInDate: u.lastSignInDate,
});

export interface UsersDeps {
  store: AccountStorage;
  clock: Clock;
  logger: Logger;
  /** Ends the user's sessions, keeping `keep` (the caller's own cookie) when given. */
  endSessions: (username: string, keep?: string) => Promise<void>;
}

export class Users {
  constructor(private readonly deps: UsersDeps) {}

  list(): Promise<UserRecord[]> {
    return this.deps.store.listUsers();
  }

  async get(username: string): Promise<UserRecord> {
    const user = await this.deps.store.getUser(username);
    if (!user) throw errors.userNotFound(username);
    return user;
  }

  find(username: string): Promise<UserRecord | undefined> {
    return this.deps.store.getUser(username);
  }

  async create(input: { username: string; role: Role; password: string }): Promise<UserRecord> {
    if (!USERNAME_PATTERN.test(input.username)) throw errors.usernameInvalid(input.username);
    checkPassword(input.password);
    const now = this.deps.clock.iso();
    const user: UserRecord = {
      username: input.username,
      role: input.role,
      passwordHash: await hashPassword(input.password),
      createdDate: now,
      passwordChangedDate: now,
      lastSignInDate: null,
    };
    await this.deps.store.insertUser(user);
    return user;
  }

  async setRole(username: string, role: Role): Promise<UserRecord> {
    const user = await this.get(username);
    if (user.role === 'admin' && role !== 'admin') await this.assertNotLastAdmin();
    await this.deps.store.updateUser(username, { role });
    return { ...user, role };
  }

  /** Sets the password and ends the user's sessions (but `keepSession`, the caller's own). */
  async setPassword(username: string, password: string, keepSession?: string): Promise<UserRecord> {
    checkPassword(password);
    const user = await this.get(username);
    const passwordHash = await hashPassword(password);
    const passwordChangedDate = this.deps.clock.iso();
    await this.deps.store.updateUser(username, { passwordHash, passwordChangedDate });
    await this.deps.endSessions(username, keepSession);
    return { ...user, passwordHash, passwordChangedDate };
  }

  async remove(username: string): Promise<UserRecord> {
    const user = await this.get(username);
    if (user.role === 'admin') await this.assertNotLastAdmin();
    await this.deps.store.deleteUser(username);
    await this.deps.endSessions(username);
    return user;
  }

  /** The user when the password is right; same time taken for unknown users. */
  async verify(username: string, password: string): Promise<UserRecord | undefined> {
    const user = await this.deps.store.getUser(username);
    const ok = await verifyPassword(password, user?.passwordHash);
    if (!ok || !user) return undefined;
    await this.deps.store.updateUser(username, { lastSignInDate: this.deps.clock.iso() });
    return user;
  }

  /**
   * First start: creates `admin` with TETHER_ADMIN_PASSWORD or a generated password (returned, to
   * be shown once). Later starts keep every account; the variable is then ignored, and said so.
   */
  async ensureAdmin(initialPassword?: string): Promise<{ generatedPassword?: string }> {
    if ((await this.deps.store.countUsers()) > 0) {
      if (initialPassword !== undefined) {
        this.deps.logger.warn({}, 'TETHER_ADMIN_PASSWORD ignored: accounts already exist and keep their passwords. To reset one: npx tether admin reset-password --user <name>');
      }
      return {};
    }
    const password = initialPassword ?? generatePassword();
    checkPassword(password);
    try {
      await this.create({ username: BOOTSTRAP_ADMIN, role: 'admin', password });
    } catch (err) {
      // Nodes sharing one database, started at once on an empty one, all find no users; the
      // first insert wins, and the others keep its admin (and print no password of their own).
      if (isTetherError(err) && err.code === 'USER_CONFLICT') {
        this.deps.logger.info({}, 'the admin user was created by another node starting at the same time');
        return {};
      }
      throw err;
    }
    return initialPassword === undefined ? { generatedPassword: password } : {};
  }

  private async assertNotLastAdmin(): Promise<void> {
    if ((await this.deps.store.countUsers('admin')) <= 1) throw errors.lastAdmin();
  }
}

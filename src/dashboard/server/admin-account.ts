import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { JsonValue } from '../../core/types.js';
import type { Storage } from '../../storage/storage.js';

export const ADMIN_SETTING = 'dashboard.admin';
export const ADMIN_USERNAME = 'admin';
export const MIN_PASSWORD_LENGTH = 8;

/** Only the scrypt hash and its parameters are stored, never the password. */
interface StoredAccount {
  username: string;
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
  createdDate: string;
}

// OWASP's scrypt baseline (N=2^14, r=8, p=1): about 50 ms and 16 MiB per check.
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 64;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function isStoredAccount(value: JsonValue | undefined): value is JsonValue & StoredAccount {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return value.algorithm === 'scrypt' && typeof value.hash === 'string' && typeof value.salt === 'string';
}

export class AdminAccount {
  private constructor(private readonly account: StoredAccount) {}

  get username(): string {
    return this.account.username;
  }

  /**
   * Loads the account, creating it on first start from `initialPassword` (TETHER_ADMIN_PASSWORD)
   * or from a generated password that the caller prints once. Later starts keep the stored
   * password: the variable only sets the initial one.
   */
  static async ensure(
    storage: Storage,
    options: { initialPassword?: string; clock: Clock; logger: Logger },
  ): Promise<{ account: AdminAccount; generatedPassword?: string }> {
    const stored = await storage.getSetting(ADMIN_SETTING);
    if (isStoredAccount(stored)) {
      if (options.initialPassword !== undefined) {
        options.logger.info({}, 'TETHER_ADMIN_PASSWORD ignored: the admin account already exists and keeps its password');
      }
      return { account: new AdminAccount(stored) };
    }
    const given = options.initialPassword;
    if (given !== undefined && given.length < MIN_PASSWORD_LENGTH) throw errors.adminPasswordTooShort(MIN_PASSWORD_LENGTH);
    const password = given ?? randomBytes(18).toString('base64url');
    const salt = randomBytes(16);
    const hash = await derive(password, salt, PARAMS);
    const account: StoredAccount = {
      username: ADMIN_USERNAME,
      algorithm: 'scrypt',
      ...PARAMS,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      createdDate: options.clock.iso(),
    };
    await storage.putSetting(ADMIN_SETTING, { ...account });
    return given === undefined
      ? { account: new AdminAccount(account), generatedPassword: password }
      : { account: new AdminAccount(account) };
  }

  async verify(username: string, password: string): Promise<boolean> {
    const expected = Buffer.from(this.account.hash, 'base64');
    const actual = await derive(password, Buffer.from(this.account.salt, 'base64'), this.account);
    // Compare the hash even for a wrong username so both failures take the same time.
    const same = actual.length === expected.length && timingSafeEqual(actual, expected);
    return same && username === this.account.username;
  }
}

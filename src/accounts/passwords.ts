import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { errors } from '../core/errors.js';
import { MIN_PASSWORD_LENGTH } from '../core/accounts.js';

/** What users.password_hash holds: the scrypt parameters, salt and hash; never the password. */
interface StoredHash {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
}

// OWASP's scrypt baseline (N=2^14, r=8, p=1): about 50 ms and 16 MiB per check.
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 64;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw errors.passwordTooShort(MIN_PASSWORD_LENGTH);
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, PARAMS);
  const stored: StoredHash = { algorithm: 'scrypt', ...PARAMS, salt: salt.toString('base64'), hash: hash.toString('base64') };
  return JSON.stringify(stored);
}

function parseHash(text: string): StoredHash | undefined {
  try {
    const v = JSON.parse(text) as Partial<StoredHash>;
    return v.algorithm === 'scrypt' && typeof v.salt === 'string' && typeof v.hash === 'string' && typeof v.N === 'number' && typeof v.r === 'number' && typeof v.p === 'number'
      ? (v as StoredHash)
      : undefined;
  } catch {
    return undefined;
  }
}

// Checked against when the user does not exist, so an unknown username takes as long as a wrong password.
let dummy: Promise<string> | undefined;

/** True when `password` matches; `stored` undefined (no such user) still costs one scrypt. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const target = parsed ?? parseHash(await (dummy ??= hashPassword(generatePassword())))!;
  const expected = Buffer.from(target.hash, 'base64');
  const actual = await derive(password, Buffer.from(target.salt, 'base64'), target);
  return parsed !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
}

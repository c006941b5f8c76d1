import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { API_KEY_NAME_PATTERN, type ApiKeyRecord, type Principal, type Role } from '../core/accounts.js';
import { errors } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';

/** Recognisable in logs and secret scanners; the rest is 256 random bits. */
export const API_KEY_PREFIX = 'tk_';
// lastUsedDate is a hint, not a log: one write per key per minute at most.
const TOUCH_INTERVAL_MS = 60_000;

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

export type ApiKeyView = Omit<ApiKeyRecord, 'keyHash' | 'revokedDate'> & { revokedDate?: string };

export function apiKeyView(k: ApiKeyRecord): ApiKeyView {
  const { keyHash: _hash, revokedDate, ...rest } = k;
  return revokedDate === null ? rest : { ...rest, revokedDate };
}

export class ApiKeys {
  private readonly touched = new Map<string, number>();

  constructor(private readonly deps: { store: AccountStorage; clock: Clock; logger: Logger }) {}

  list(): Promise<ApiKeyRecord[]> {
    return this.deps.store.listApiKeys();
  }

  /** The secret is returned only here. */
  async create(input: { name: string; role: Role; createdBy: string }): Promise<{ record: ApiKeyRecord; key: string }> {
    if (!API_KEY_NAME_PATTERN.test(input.name)) throw errors.apiKeyNameInvalid(input.name);
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: ApiKeyRecord = {
      keyId: `k_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
      name: input.name,
      role: input.role,
      keyHash: digest(key),
      hint: `…${key.slice(-4)}`,
      createdDate: this.deps.clock.iso(),
      createdBy: input.createdBy,
      lastUsedDate: null,
      status: 'ACTIVE',
      revokedDate: null,
    };
    await this.deps.store.insertApiKey(record);
    return { record, key };
  }

  async revoke(keyId: string): Promise<{ before: ApiKeyRecord; after: ApiKeyRecord }> {
    const before = await this.deps.store.getApiKey(keyId);
    const at = this.deps.clock.iso();
    if (!before || !(await this.deps.store.revokeApiKey(keyId, at))) throw errors.apiKeyNotFound(keyId);
    return { before, after: { ...before, status: 'REVOKED', revokedDate: at } };
  }

  /** For a refused key: its name and revocation date if it is a revoked key of this server. */
  async revoked(key: string): Promise<{ name: string; revokedDate: string } | undefined> {
    if (!key.startsWith(API_KEY_PREFIX)) return undefined;
    const record = await this.deps.store.findApiKeyByHash(digest(key));
    return record && record.status === 'REVOKED' && record.revokedDate !== null ? { name: record.name, revokedDate: record.revokedDate } : undefined;
  }

  /** The principal of an active key, or undefined. Looks the key up by its SHA-256 (unique index). */
  async authenticate(key: string): Promise<Principal | undefined> {
    if (!key.startsWith(API_KEY_PREFIX)) return undefined;
    const record = await this.deps.store.findApiKeyByHash(digest(key));
    if (!record || record.status !== 'ACTIVE') return undefined;
    const now = this.deps.clock.now();
    if (now - (this.touched.get(record.keyId) ?? 0) >= TOUCH_INTERVAL_MS) {
      this.touched.set(record.keyId, now);
      if (this.touched.size > 10_000) this.touched.clear();
      await this.deps.store.touchApiKey(record.keyId, this.deps.clock.iso()).catch((err: unknown) => this.deps.logger.warn({ err }, 'API key last use not saved'));
    }
    return { kind: 'api-key', name: record.name, role: record.role, keyId: record.keyId };
  }
}

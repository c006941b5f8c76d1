import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import { errors, isTetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { KeyedSerial } from '../core/serial.js';
import type { Credentials } from '../core/services.js';
import type { TokenRecord } from '../core/types.js';
import type { Storage } from '../storage/storage.js';
import { TokenCache } from './cache.js';
import { DEVICE_CACHE_IDLE_MS, IDLE_SWEEP_EVERY_MS } from '../core/idle.js';
import { nextStatus } from './lifecycle.js';
import { checkToken, generateToken, hashToken, newTokenRecord } from './tokens.js';

export interface CredentialsDeps {
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Most tokens kept resolved in memory. */
  cacheSize?: number;
  /** Tokens unused for this long leave the cache; default DEVICE_CACHE_IDLE_MS. */
  cacheIdleMs?: number;
}

const GENERATE_ATTEMPTS = 3;

/**
 * Kaa CM: endpoint tokens, their lifecycle, and resolving the token in a 1/KP topic to an endpoint.
 * `resolveToken` runs for every device message and is answered from memory after the first time;
 * the cache follows `token.status-changed` and `endpoint.deleted` from the bus, so it stays true when
 * another node changes a token.
 */
export function createCredentials(deps: CredentialsDeps): Credentials & { close(): Promise<void>; sweepIdle(): number } {
  const { storage, bus, clock } = deps;
  const logger = deps.logger.child({ part: 'credentials' });
  const cache = new TokenCache(deps.cacheSize ?? 100_000);
  const idleMs = deps.cacheIdleMs ?? DEVICE_CACHE_IDLE_MS;
  const sweeper = setInterval(() => cache.sweepIdle(clock.now() - idleMs), IDLE_SWEEP_EVERY_MS);
  sweeper.unref();
  // Status changes of one token (operator actions, first-use activation) never interleave.
  const perToken = new KeyedSerial();
  /** First-use activations not committed yet (close waits for them). */
  const activations = new Set<Promise<void>>();
  const loading = new Map<string, { epoch: number; loaded: Promise<TokenRecord> }>();

  const unsubscribe = bus.subscribe((event: TetherEvent) => {
    if (event.type === 'token.status-changed') {
      const key = TokenCache.key(event.applicationName, event.tokenHash);
      // Already cached as ACTIVE (e.g. this node's own first-use activation): nothing is stale, and
      // keeping it spares the next message a storage read.
      if (event.status === 'ACTIVE' && cache.get(key)?.status === 'ACTIVE') return;
      cache.invalidate(key);
    } else if (event.type === 'endpoint.deleted') cache.invalidateEndpoint(event.endpointId);
  });

  async function publishStatus(record: TokenRecord): Promise<void> {
    await bus
      .publish({
        type: 'token.status-changed',
        endpointId: record.endpointId,
        applicationName: record.applicationName,
        tokenId: record.tokenId,
        tokenHash: record.tokenHash,
        status: record.status,
        at: record.statusUpdatedDate,
      })
      .catch((err: unknown) => logger.error({ err, tokenId: record.tokenId }, 'failed to publish token.status-changed'));
  }

  /** Kaa CM: an INACTIVE token becomes ACTIVE the first time a device uses it. */
  function activate(tokenId: string, at: string): Promise<void> {
    return perToken.run(tokenId, async () => {
      const current = await storage.getToken(tokenId);
      // Changed meanwhile (suspended, revoked, deleted): that change stands, and its event told the cache.
      if (current?.status !== 'INACTIVE') return;
      await storage.updateTokenStatus(tokenId, 'ACTIVE', at);
      // Debug: a fleet connecting for the first time would write one line per device.
      logger.debug({ tokenId, endpointId: current.endpointId }, 'token activated on first use');
      await publishStatus({ ...current, status: 'ACTIVE', statusUpdatedDate: at });
    });
  }

  /**
   * Activation is written in the background: the device is served without waiting for the commit.
   * The token is valid either way, and a crash before the commit leaves it INACTIVE, which the
   * next use activates again.
   */
  function activateSoon(record: TokenRecord, key: string, at: string): void {
    const write = activate(record.tokenId, at)
      .catch((err: unknown) => {
        // Not cached as ACTIVE any more, so the next use tries again.
        cache.invalidate(key);
        logger.warn({ err, tokenId: record.tokenId }, 'failed to record token activation');
      })
      .finally(() => activations.delete(write));
    activations.add(write);
  }

  function usable(record: TokenRecord): TokenRecord {
    if (record.status === 'SUSPENDED') throw errors.tokenSuspended();
    if (record.status === 'REVOKED') throw errors.tokenRevoked();
    return record;
  }

  async function load(applicationName: string, tokenHash: string, key: string): Promise<TokenRecord> {
    const epoch = cache.epoch;
    const stored = await storage.findTokenByHash(applicationName, tokenHash);
    if (!stored) throw errors.tokenUnknown();
    let record = stored;
    if (stored.status === 'INACTIVE') {
      const at = clock.iso();
      record = { ...stored, status: 'ACTIVE', statusUpdatedDate: at };
      activateSoon(stored, key, at);
    }
    const frozen = Object.freeze(record);
    cache.set(key, frozen, epoch, clock.now());
    return frozen;
  }

  /** One storage lookup per token at a time: a device's SUBSCRIBE and first request often race. */
  function resolveSlow(applicationName: string, tokenHash: string, key: string): Promise<TokenRecord> {
    const current = loading.get(key);
    // A lookup begun before an invalidation may have read the old record: not joined.
    if (current && current.epoch === cache.epoch) return current.loaded.then(usable);
    const entry = { epoch: cache.epoch, loaded: load(applicationName, tokenHash, key) };
    loading.set(key, entry);
    const forget = () => {
      if (loading.get(key) === entry) loading.delete(key);
    };
    entry.loaded.then(forget, forget);
    return entry.loaded.then(usable);
  }

  return {
    async issueToken(endpointId, token) {
      const endpoint = await storage.getEndpoint(endpointId, false);
      if (!endpoint) throw errors.endpointNotFound(endpointId);
      const custom = token !== undefined;
      for (let attempt = 1; ; attempt++) {
        const plain = custom ? checkToken(token) : generateToken();
        const record = newTokenRecord(plain, endpointId, endpoint.applicationName, clock.iso());
        try {
          // Kaa CM: tokens are unique per application.
          if (await storage.findTokenByHash(record.applicationName, record.tokenHash)) throw errors.tokenTaken();
          await storage.insertToken(record);
          logger.info({ tokenId: record.tokenId, endpointId }, 'token issued');
          return { token: plain, record };
        } catch (err) {
          const retry = !custom && isTetherError(err) && err.code === 'TOKEN_CONFLICT' && attempt < GENERATE_ATTEMPTS;
          if (!retry) throw err;
        }
      }
    },

    async listTokens(endpointId) {
      if (!(await storage.getEndpoint(endpointId, false))) throw errors.endpointNotFound(endpointId);
      return storage.listTokens(endpointId);
    },

    changeTokenStatus(endpointId, tokenId, action) {
      return perToken.run(tokenId, async () => {
        const current = await storage.getToken(tokenId);
        if (!current || current.endpointId !== endpointId) throw errors.tokenNotFound(tokenId);
        const status = nextStatus(current.status, action);
        const at = clock.iso();
        await storage.updateTokenStatus(tokenId, status, at);
        const updated: TokenRecord = { ...current, status, statusUpdatedDate: at };
        // Drop it here too: local handlers of the bus may run only after publish resolves.
        cache.invalidate(TokenCache.key(updated.applicationName, updated.tokenHash));
        logger.info({ tokenId, endpointId, from: current.status, status }, 'token status changed');
        await publishStatus(updated);
        return updated;
      });
    },

    async resolveToken(applicationName, token) {
      const tokenHash = hashToken(checkToken(token));
      const key = TokenCache.key(applicationName, tokenHash);
      const cached = cache.get(key, clock.now());
      if (cached) return usable(cached);
      return resolveSlow(applicationName, tokenHash, key);
    },

    /** Drops tokens idle for DEVICE_CACHE_IDLE_MS (or deps.cacheIdleMs); returns how many. */
    sweepIdle: () => cache.sweepIdle(clock.now() - idleMs),

    async close() {
      clearInterval(sweeper);
      unsubscribe();
      await Promise.all([...activations]);
    },
  };
}

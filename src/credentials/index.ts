import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import { errors, isTetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { KeyedSerial } from '../core/serial.js';
import type { Credentials } from '../core/services.js';
import type { TokenRecord } from '../core/types.js';
import type { Storage } from '../storage/storage.js';
import { TokenCache } from './cache.js';
import { nextStatus } from './lifecycle.js';
import { checkToken, generateToken, hashToken, newTokenRecord } from './tokens.js';

export interface CredentialsDeps {
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Most tokens kept resolved in memory. */
  cacheSize?: number;
}

const GENERATE_ATTEMPTS = 3;

/**
 * Kaa CM: endpoint tokens, their lifecycle, and resolving the token in a 1/KP topic to an endpoint.
 * `resolveToken` runs for every device message and is answered from memory after the first time;
 * the cache follows `token.status-changed` and `endpoint.deleted` from the bus, so it stays true when
 * another node changes a token.
 */
export function createCredentials(deps: CredentialsDeps): Credentials & { close(): void } {
  const { storage, bus, clock } = deps;
  const logger = deps.logger.child({ part: 'credentials' });
  const cache = new TokenCache(deps.cacheSize ?? 100_000);
  // Status changes of one token (operator actions, first-use activation) never interleave.
  const perToken = new KeyedSerial();

  const unsubscribe = bus.subscribe((event: TetherEvent) => {
    if (event.type === 'token.status-changed') cache.invalidate(TokenCache.key(event.applicationName, event.tokenHash));
    else if (event.type === 'endpoint.deleted') cache.invalidateEndpoint(event.endpointId);
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
  function activate(tokenId: string): Promise<TokenRecord> {
    return perToken.run(tokenId, async () => {
      const current = await storage.getToken(tokenId);
      if (!current) throw errors.tokenUnknown();
      if (current.status !== 'INACTIVE') return current;
      const at = clock.iso();
      await storage.updateTokenStatus(tokenId, 'ACTIVE', at);
      const active: TokenRecord = { ...current, status: 'ACTIVE', statusUpdatedDate: at };
      logger.info({ tokenId, endpointId: active.endpointId }, 'token activated on first use');
      await publishStatus(active);
      return active;
    });
  }

  function usable(record: TokenRecord): TokenRecord {
    if (record.status === 'SUSPENDED') throw errors.tokenSuspended();
    if (record.status === 'REVOKED') throw errors.tokenRevoked();
    return record;
  }

  async function resolveSlow(applicationName: string, tokenHash: string, key: string): Promise<TokenRecord> {
    const epoch = cache.epoch;
    let record = await storage.findTokenByHash(applicationName, tokenHash);
    if (!record) throw errors.tokenUnknown();
    if (record.status === 'INACTIVE') {
      // Only the first message waits for this write. Its own event advances the epoch, so the
      // result may not be cached; the next lookup then reads the ACTIVE record and caches it.
      record = await activate(record.tokenId);
    }
    const frozen = Object.freeze(record);
    cache.set(key, frozen, epoch);
    return usable(frozen);
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
      const cached = cache.get(key);
      if (cached) return usable(cached);
      return resolveSlow(applicationName, tokenHash, key);
    },

    close() {
      unsubscribe();
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import { KeyedSerial } from '../core/serial.js';
import type { Applications, Credentials, Registry } from '../core/services.js';
import type { Actor, EndpointQuery, EndpointRecord, Metadata, MetadataChange } from '../core/types.js';
import type { Storage } from '../storage/storage.js';
import { checkToken, generateToken, newTokenRecord } from '../credentials/tokens.js';
import { DEVICE_CACHE_IDLE_MS, IDLE_SWEEP_EVERY_MS } from '../core/idle.js';
import { type KeyRules, needsCurrentMetadata, planDeviceChange, visibleToDevice } from './access.js';
import { checkMetadataKeyCount, checkMetadataValues } from './metadata-limits.js';
import type { MetadataLimits } from './metadata-limits.js';
import { checkChange, checkEndpointId, checkMetadata } from './validate.js';
import { sharedName } from '../core/flat.js';

export interface RegistryDeps {
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  applications: Applications;
  credentials: Credentials;
  /** Endpoints unused for this long leave the caches; default DEVICE_CACHE_IDLE_MS. */
  cacheIdleMs?: number;
  /** Metadata keys per endpoint, value size and depth; defaults: DEFAULT_LIMITS. */
  limits?: Partial<MetadataLimits>;
}

/**
 * Where an endpoint belongs. Never changes for an endpoint, so it is cached until deletion, or
 * until the endpoint has been idle for DEVICE_CACHE_IDLE_MS (sweepIdle).
 */
interface Placement {
  applicationName: string;
  appVersionName: string;
  /** clock.now() when last used. */
  usedAt: number;
}

const PLACEMENT_CACHE_SIZE = 100_000;

/** A change handed to storage: where the endpoint belongs, the rules it was planned with, its time and its write. */
interface Queued {
  placement: Placement;
  rules: KeyRules;
  at: string;
  written: Promise<Metadata | undefined>;
}
const MAX_PAGE = 1000;

/**
 * Kaa EPR: endpoints and their metadata. `changeMetadata` is the 10/EPMP hot path: it reads the
 * endpoint's placement and key rules from memory and makes one storage write.
 */
export function createRegistry(deps: RegistryDeps): Registry & { close(): void; sweepIdle(): number } {
  const { storage, bus, clock, applications } = deps;
  const logger = deps.logger.child({ part: 'registry' });
  const placements = new Map<string, Placement>();
  // Metadata changes of one endpoint apply in arrival order, and a device's full update that must
  // keep protected keys reads and writes without another change slipping in between.
  const perEndpoint = new KeyedSerial();
  /** Per endpoint, the latest metadata write queued in storage and not yet committed. */
  const lastWrite = new Map<string, Promise<void>>();
  const limits: MetadataLimits = {
    maxMetadataKeys: deps.limits?.maxMetadataKeys ?? DEFAULT_LIMITS.maxMetadataKeys,
    maxMetadataValueBytes: deps.limits?.maxMetadataValueBytes ?? DEFAULT_LIMITS.maxMetadataValueBytes,
    maxMetadataDepth: deps.limits?.maxMetadataDepth ?? DEFAULT_LIMITS.maxMetadataDepth,
  };
  /**
   * Metadata key count per endpoint after its last change, so a merge that clearly stays under
   * limits.maxMetadataKeys needs no read. Bounded like the placement cache.
   */
  const keyCounts = new Map<string, number>();

  /** Forgets endpoints idle for DEVICE_CACHE_IDLE_MS (placement and key count); returns how many. */
  function sweepIdle(): number {
    const usedBefore = clock.now() - (deps.cacheIdleMs ?? DEVICE_CACHE_IDLE_MS);
    let dropped = 0;
    for (const [endpointId, placement] of placements) {
      if (placement.usedAt >= usedBefore) continue;
      placements.delete(endpointId);
      keyCounts.delete(endpointId);
      dropped++;
    }
    return dropped;
  }
  const sweeper = setInterval(sweepIdle, IDLE_SWEEP_EVERY_MS);
  sweeper.unref();

  const unsubscribe = bus.subscribe((event: TetherEvent) => {
    if (event.type === 'endpoint.deleted') {
      placements.delete(event.endpointId);
      keyCounts.delete(event.endpointId);
    }
  });

  function remember(endpoint: EndpointRecord): Placement {
    const placement = { applicationName: sharedName(endpoint.applicationName), appVersionName: sharedName(endpoint.appVersionName), usedAt: clock.now() };
    placements.set(endpoint.endpointId, placement);
    if (placements.size > PLACEMENT_CACHE_SIZE) {
      const oldest = placements.keys().next().value;
      if (oldest !== undefined) placements.delete(oldest);
    }
    return placement;
  }

  async function placementOf(endpointId: string): Promise<Placement> {
    const cached = placements.get(endpointId);
    if (cached) {
      cached.usedAt = clock.now();
      return cached;
    }
    const endpoint = await storage.getEndpoint(endpointId, false);
    if (!endpoint) throw errors.endpointNotFound(endpointId);
    return remember(endpoint);
  }

  async function deviceRules(endpointId: string): Promise<KeyRules> {
    const placement = await placementOf(endpointId);
    return (await applications.getVersion(placement.appVersionName)).metadataKeyAccess;
  }

  function publish(event: TetherEvent): Promise<void> {
    // The write is already durable; a bus failure must not turn it into an error for the caller.
    return bus.publish(event).catch((err: unknown) => logger.error({ err, event: event.type }, 'failed to publish event'));
  }

  async function storedMetadata(endpointId: string): Promise<Metadata> {
    const metadata = await storage.getMetadata(endpointId);
    if (!metadata) throw errors.endpointNotFound(endpointId);
    return metadata;
  }

  async function metadataFor(endpointId: string, actor: Actor): Promise<Metadata> {
    if (actor === 'operator') return storedMetadata(endpointId);
    const rules = await deviceRules(endpointId);
    return visibleToDevice(await storedMetadata(endpointId), rules);
  }

  function noteKeyCount(endpointId: string, count: number): void {
    keyCounts.delete(endpointId); // re-inserted last: the oldest entry is the least recently changed
    keyCounts.set(endpointId, count);
    if (keyCounts.size > PLACEMENT_CACHE_SIZE) {
      const oldest = keyCounts.keys().next().value;
      if (oldest !== undefined) keyCounts.delete(oldest);
    }
  }

  /**
   * limits.maxMetadataKeys: rejects a change that would leave the endpoint with too many keys.
   * Runs in the endpoint's turn, before the change is queued. `keyCounts` holds an upper bound of
   * the count after every queued write (a merge adds all its keys, as if none existed), so a merge
   * that clearly fits needs no read; when the bound says it may not fit, the exact count is read
   * after the queued writes and the bound is reset to it.
   */
  async function checkKeyCount(endpointId: string, change: MetadataChange): Promise<void> {
    if (keyCountKnownToFit(endpointId, change)) return;
    const incoming = Object.keys((change as Exclude<MetadataChange, { kind: 'delete' }>).metadata);
    await lastWrite.get(endpointId);
    const current = await storedMetadata(endpointId);
    const after = Object.keys(current).length + incoming.filter((key) => !Object.hasOwn(current, key)).length;
    checkMetadataKeyCount(after, limits);
    noteKeyCount(endpointId, after);
  }

  /**
   * The part of checkKeyCount that needs no read: true when the change is known to fit (and the
   * bound is updated), false when the exact count must be read. A replace over the limit throws.
   */
  function keyCountKnownToFit(endpointId: string, change: MetadataChange): boolean {
    if (change.kind === 'delete') return true; // the bound stays an upper bound
    const incoming = Object.keys(change.metadata);
    if (change.kind === 'replace') {
      checkMetadataKeyCount(incoming.length, limits);
      noteKeyCount(endpointId, incoming.length);
      return true;
    }
    const known = keyCounts.get(endpointId);
    if (known === undefined || known + incoming.length > limits.maxMetadataKeys) return false;
    noteKeyCount(endpointId, known + incoming.length);
    return true;
  }

  /**
   * Plans the change and hands it to storage, in the endpoint's turn; resolves once it is queued,
   * not committed, so a device pipelining updates gets them into one group commit. Storage applies
   * queued writes in order. A change planned from the current metadata waits for the writes queued
   * before it, so it reads what they wrote.
   */
  async function queueChange(endpointId: string, change: MetadataChange, actor: Actor): Promise<Queued> {
    const placement = await placementOf(endpointId);
    let rules: KeyRules = {};
    let toStore = change;
    if (actor === 'device') {
      rules = (await applications.getVersion(placement.appVersionName)).metadataKeyAccess;
      if (needsCurrentMetadata(change, rules)) {
        await lastWrite.get(endpointId);
        toStore = planDeviceChange(change, rules, await storedMetadata(endpointId));
      } else {
        toStore = planDeviceChange(change, rules, {});
      }
    }
    await checkKeyCount(endpointId, toStore);
    return enqueue(endpointId, placement, rules, toStore);
  }

  /**
   * queueChange without a promise, for the common case where everything it needs is in memory and
   * no earlier change of the endpoint is still being planned; undefined otherwise (queueChange then
   * plans it in the endpoint's turn). Writes queued here keep arrival order with those queued there.
   */
  function queueChangeNow(endpointId: string, change: MetadataChange, actor: Actor): Queued | undefined {
    if (perEndpoint.busy(endpointId)) return undefined;
    const placement = placements.get(endpointId);
    if (!placement) return undefined;
    placement.usedAt = clock.now();
    let rules: KeyRules = {};
    let toStore = change;
    if (actor === 'device') {
      const version = applications.cachedVersion(placement.appVersionName);
      if (!version) return undefined;
      rules = version.metadataKeyAccess;
      if (needsCurrentMetadata(change, rules)) return undefined;
      toStore = planDeviceChange(change, rules, {});
    }
    if (!keyCountKnownToFit(endpointId, toStore)) return undefined;
    return enqueue(endpointId, placement, rules, toStore);
  }

  function enqueue(endpointId: string, placement: Placement, rules: KeyRules, toStore: MetadataChange): Queued {
    const at = clock.iso();
    const written = storage.changeMetadata(endpointId, toStore, at);
    const forget = () => {
      if (lastWrite.get(endpointId) === settled) lastWrite.delete(endpointId);
    };
    const settled: Promise<void> = written.then(forget, () => {
      // A failed write leaves the count unknown: the next merge reads it.
      keyCounts.delete(endpointId);
      forget();
    });
    lastWrite.set(endpointId, settled);
    return { placement, rules, at, written };
  }

  async function applyChange(endpointId: string, change: MetadataChange, actor: Actor): Promise<Metadata> {
    const { placement, rules, at, written } =
      queueChangeNow(endpointId, change, actor) ?? (await perEndpoint.run(endpointId, () => queueChange(endpointId, change, actor)));
    const metadata = await written;
    if (!metadata) {
      placements.delete(endpointId);
      keyCounts.delete(endpointId);
      throw errors.endpointNotFound(endpointId);
    }
    await publish({ type: 'metadata.updated', endpointId, applicationName: placement.applicationName, at, metadata, actor });
    return actor === 'device' ? visibleToDevice(metadata, rules) : metadata;
  }

  return {
    async createEndpoint(input) {
      const version = await applications.getVersion(input.appVersionName);
      const endpointId = input.endpointId === undefined ? randomUUID() : checkEndpointId(input.endpointId);
      const metadata = checkMetadata(input.metadata ?? {});
      checkMetadataKeyCount(Object.keys(metadata).length, limits);
      checkMetadataValues(metadata, limits);
      const token = input.endpointToken === undefined ? generateToken() : checkToken(input.endpointToken);
      const at = clock.iso();
      const tokenRecord = newTokenRecord(token, endpointId, version.applicationName, at);
      if (await storage.getEndpoint(endpointId, false)) throw errors.endpointIdTaken(endpointId);
      // Kaa CM: tokens are unique per application.
      if (await storage.findTokenByHash(version.applicationName, tokenRecord.tokenHash)) throw errors.tokenTaken();
      const endpoint: EndpointRecord = {
        endpointId,
        applicationName: version.applicationName,
        appVersionName: version.name,
        createdDate: at,
        metadataUpdatedDate: Object.keys(metadata).length > 0 ? at : null,
        connected: false,
        connectivityTs: null,
        lastConnectedDate: null,
        lastDisconnectedDate: null,
        lastSeen: null,
      };
      await storage.insertEndpoint(endpoint, metadata, tokenRecord);
      remember(endpoint);
      noteKeyCount(endpointId, Object.keys(metadata).length);
      logger.info({ endpointId, appVersion: version.name, tokenId: tokenRecord.tokenId }, 'endpoint created');
      await publish({ type: 'endpoint.created', endpointId, applicationName: version.applicationName, at });
      return { endpoint: { ...endpoint, metadata }, token, tokenRecord };
    },

    async getEndpoint(endpointId, includeMetadata) {
      const endpoint = await storage.getEndpoint(endpointId, includeMetadata);
      if (!endpoint) throw errors.endpointNotFound(endpointId);
      return endpoint;
    },

    listEndpoints(query: EndpointQuery) {
      const limit = Math.min(MAX_PAGE, Math.max(1, Math.trunc(query.limit) || 1));
      const offset = Math.max(0, Math.trunc(query.offset) || 0);
      return storage.queryEndpoints({ ...query, limit, offset });
    },

    async deleteEndpoint(endpointId) {
      const endpoint = await storage.getEndpoint(endpointId, false);
      if (!endpoint || !(await storage.deleteEndpoint(endpointId))) throw errors.endpointNotFound(endpointId);
      placements.delete(endpointId);
      logger.info({ endpointId }, 'endpoint deleted');
      await publish({ type: 'endpoint.deleted', endpointId, applicationName: endpoint.applicationName, at: clock.iso() });
    },

    getMetadata: metadataFor,

    async changeMetadata(endpointId, change, actor) {
      checkChange(change);
      // Before queueing: an oversized or too deep value is refused without touching storage.
      if (change.kind !== 'delete') checkMetadataValues(change.metadata, limits);
      return applyChange(endpointId, change, actor);
    },

    async metadataKeys(endpointId, actor) {
      // 10/EPMP: keys the client can neither read nor write are filtered out (hidden keys).
      const metadata = await metadataFor(endpointId, actor);
      return Object.keys(metadata).sort();
    },

    async applicationMetadataKeys(applicationName) {
      await applications.getApplication(applicationName);
      return storage.metadataKeysOfApplication(applicationName);
    },

    sweepIdle,

    close() {
      clearInterval(sweeper);
      unsubscribe();
    },
  };
}


import type { EventBus, TetherEvent } from '../../src/bus/bus.js';
import type { Clock } from '../../src/core/clock.js';
import type { Limits } from '../../src/core/limits.js';
import type { DeclaredApplication, Services } from '../../src/core/services.js';
import { createServices } from '../../src/platform/services.js';
import type { Storage } from '../../src/storage/storage.js';
import { testBusBackend } from '../bus/backends.js';
import type { BusBackend } from '../bus/backends.js';
import { testStorageBackend } from '../storage/backends.js';
import type { Backend, Place } from '../storage/backends.js';

export const DEMO_APP = 'demo_application';
export const DEMO_VERSION = 'demo_application_v1';

export const DEMO_DECLARATION: DeclaredApplication[] = [
  { name: DEMO_APP, versions: [{ name: DEMO_VERSION, extensions: ['epmx'] }] },
];

export interface TestServices extends Services {
  /** Where the storage lives: accounts and client credentials open theirs in the same place. */
  place: Place;
  /** The SQLite folder and file (undefined on PostgreSQL). */
  dir: string | undefined;
  file: string | undefined;
  storage: Storage;
  bus: EventBus;
  /** Every event published on the bus, in order. */
  events: TetherEvent[];
  /** Drops per-device cache entries idle for DEVICE_CACHE_IDLE_MS (src/core/idle.ts) now. */
  sweepIdleCaches(): { tokens: number; endpoints: number };
  /** Closes services, bus and storage and removes the place. Safe to call twice. */
  close(): Promise<void>;
}

export interface TestServicesOptions {
  clock?: Clock;
  /** Applications to declare; defaults to demo_application / demo_application_v1 with epmx. */
  declare?: DeclaredApplication[];
  /** Wraps the storage, e.g. to count calls. */
  wrapStorage?: (storage: Storage) => Storage;
  /** Registry limits (metadata size and depth). */
  limits?: Partial<Limits>;
  /** Default: the pair TETHER_TEST_BACKEND selects (SQLite and the memory bus unless it says postgres). */
  backend?: Backend;
  bus?: BusBackend;
}

/**
 * All services wired together over a fresh place of a storage backend from the conformance suites'
 * list (test/storage/backends.ts) and a bus from theirs (test/bus/backends.ts).
 */
export async function createTestServices(options: TestServicesOptions = {}): Promise<TestServices> {
  const place = await (options.backend ?? testStorageBackend()).create();
  let storage: Storage | undefined;
  let bus: EventBus | undefined;
  try {
    const opened = await place.openStorage();
    storage = options.wrapStorage ? options.wrapStorage(opened) : opened;
    [bus] = await (options.bus ?? testBusBackend()).open(1);
    const events: TetherEvent[] = [];
    bus!.subscribe((event) => events.push(event));
    const services = await createServices({
      storage,
      bus: bus!,
      ...(options.clock && { clock: options.clock }),
      ...(options.limits && { limits: options.limits }),
    });
    await services.applications.ensureDeclared(options.declare ?? DEMO_DECLARATION);
    let closed = false;
    const s = storage;
    const b = bus!;
    return {
      ...services,
      place,
      dir: place.dir,
      file: place.file,
      storage: s,
      bus: b,
      events,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await services.close();
          await b.close();
          await s.close();
        } finally {
          await place.remove();
        }
      },
    };
  } catch (err) {
    await bus?.close();
    await storage?.close().catch(() => {});
    await place.remove();
    throw err;
  }
}

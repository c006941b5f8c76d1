import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventBus, TetherEvent } from '../../src/bus/bus.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import type { Clock } from '../../src/core/clock.js';
import type { DeclaredApplication, Services } from '../../src/core/services.js';
import { createServices } from '../../src/platform/services.js';
import type { Storage } from '../../src/storage/storage.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';

export const DEMO_APP = 'demo_application';
export const DEMO_VERSION = 'demo_application_v1';

export const DEMO_DECLARATION: DeclaredApplication[] = [
  { name: DEMO_APP, versions: [{ name: DEMO_VERSION, extensions: ['epmx'] }] },
];

export interface TestServices extends Services {
  dir: string;
  file: string;
  storage: Storage;
  bus: EventBus;
  /** Every event published on the bus, in order. */
  events: TetherEvent[];
  /** Closes services, bus and storage and removes the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

export interface TestServicesOptions {
  clock?: Clock;
  /** Applications to declare; defaults to demo_application / demo_application_v1 with epmx. */
  declare?: DeclaredApplication[];
  /** Wraps the storage, e.g. to count calls. */
  wrapStorage?: (storage: Storage) => Storage;
}

/** Real SQLite file in a fresh temp dir, the in-memory bus and all services wired together. */
export async function createTestServices(options: TestServicesOptions = {}): Promise<TestServices> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  const file = path.join(dir, 'tether.db');
  let storage: Storage | undefined;
  let bus: EventBus | undefined;
  try {
    const opened = await openSqliteStorage({ file });
    storage = options.wrapStorage ? options.wrapStorage(opened) : opened;
    bus = createMemoryBus();
    const events: TetherEvent[] = [];
    bus.subscribe((event) => events.push(event));
    const services = await createServices({ storage, bus, ...(options.clock ? { clock: options.clock } : {}) });
    await services.applications.ensureDeclared(options.declare ?? DEMO_DECLARATION);
    let closed = false;
    const s = storage;
    const b = bus;
    return {
      ...services,
      dir,
      file,
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
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await bus?.close();
    await storage?.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}


/**
 * Pre-seeds a fresh data dir through the real storage and services, before the server child
 * starts: creating thousands of endpoints over HTTP would dominate the run and measure nothing.
 * Storage is closed again before the child opens the same file.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createMemoryBus } from '../src/bus/memory/index.js';
import type { EndpointRecord, Metadata } from '../src/core/types.js';
import { createServices } from '../src/platform/services.js';
import { openSqliteStorage } from '../src/storage/sqlite/index.js';

export const APPLICATION = 'demo_application';
export const APP_VERSION = 'demo_application_v1';
/** The file name Tether uses inside its data dir. */
export const DB_FILE = 'tether.db';

const BATCH = 2000;

export interface Seeded {
  tokens: string[];
  endpointIds: string[];
  seconds: number;
}

/**
 * Creates `count` endpoints of demo_application_v1, each with its first token, optionally with
 * metadata. Batches are created concurrently so the storage group-commits each batch in one
 * transaction.
 */
export async function seedEndpoints(dataDir: string, count: number, metadataOf?: (i: number) => Metadata): Promise<Seeded> {
  const t0 = performance.now();
  // NORMAL is enough for a seed: the file is closed cleanly before anyone relies on it.
  const storage = await openSqliteStorage({ file: path.join(dataDir, DB_FILE), synchronous: 'NORMAL' });
  const bus = createMemoryBus();
  const services = await createServices({ storage, bus });
  const tokens: string[] = new Array(count);
  const endpointIds: string[] = new Array(count);
  try {
    await services.applications.ensureDeclared([
      { name: APPLICATION, versions: [{ name: APP_VERSION, extensions: ['epmx'] }] },
    ]);
    for (let start = 0; start < count; start += BATCH) {
      const end = Math.min(count, start + BATCH);
      const batch: Promise<void>[] = [];
      for (let i = start; i < end; i++) {
        const metadata = metadataOf?.(i);
        batch.push(
          services.registry.createEndpoint({ appVersionName: APP_VERSION, ...(metadata ? { metadata } : {}) }).then((created) => {
            tokens[i] = created.token;
            endpointIds[i] = created.endpoint.endpointId;
          }),
        );
      }
      await Promise.all(batch);
    }
  } finally {
    await services.close();
    await bus.close();
    await storage.close();
  }
  return { tokens, endpointIds, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Endpoints without tokens, written straight through Storage in large batches: the dashboard list
 * benchmark needs 100,000 of them and no device ever connects, so the per-endpoint token work of
 * the registry is skipped. Creation times are spread one second apart so sorting by them is real.
 */
export async function seedListedEndpoints(dataDir: string, count: number, metadataOf: (i: number) => Metadata): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const storage = await openSqliteStorage({ file: path.join(dataDir, DB_FILE), synchronous: 'NORMAL' });
  const bus = createMemoryBus();
  try {
    const services = await createServices({ storage, bus });
    await services.applications.ensureDeclared([{ name: APPLICATION, versions: [{ name: APP_VERSION, extensions: ['epmx'] }] }]);
    await services.close();
    const start = Date.now() - count * 1000;
    for (let first = 0; first < count; first += LIST_BATCH) {
      const batch: Promise<void>[] = [];
      for (let i = first; i < Math.min(count, first + LIST_BATCH); i++) {
        const at = new Date(start + i * 1000).toISOString();
        const endpoint: EndpointRecord = {
          endpointId: randomUUID(),
          applicationName: APPLICATION,
          appVersionName: APP_VERSION,
          createdDate: at,
          metadataUpdatedDate: at,
          connected: false,
          connectivityTs: null,
          lastConnectedDate: null,
          lastDisconnectedDate: null,
          lastSeen: null,
        };
        batch.push(storage.insertEndpoint(endpoint, metadataOf(i)));
      }
      await Promise.all(batch);
    }
  } finally {
    await bus.close();
    await storage.close();
  }
  return { seconds: (performance.now() - t0) / 1000 };
}

const LIST_BATCH = 5000;

const MODELS = ['EM-100', 'EM-200', 'EM-300X', 'HeatMeter-7', 'WaterSense-2', 'GasPro-5', 'Sensor-A', 'Sensor-B'];
const BUILDINGS = ['North Tower', 'South Wing', 'Warehouse', 'Lab', 'Plant 3', 'Depot'];

/** Dashboard-like metadata: a model to sort by, a MAC and a description to search in. */
export function meterMetadata(i: number): Metadata {
  const mac = (i * 2654435761) >>> 0;
  const hex = mac.toString(16).padStart(8, '0');
  return {
    model: MODELS[i % MODELS.length]!,
    mac: `a4:cf:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`,
    meterDescription: `Meter ${i} in ${BUILDINGS[i % BUILDINGS.length]}, floor ${(i % 12) + 1}`,
  };
}

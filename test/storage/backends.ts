import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccountStorage } from '../../src/storage/accounts.js';
import type { ControlStorage } from '../../src/storage/control.js';
import type { RolloutStorage } from '../../src/storage/rollouts.js';
import { openPostgresRolloutStorage } from '../../src/storage/postgres/rollouts.js';
import { openSqliteRolloutStorage } from '../../src/storage/sqlite/rollouts.js';
import { openPostgresAccountStorage } from '../../src/storage/postgres/accounts.js';
import { openPostgresClientCredentialStore } from '../../src/storage/postgres/client-credentials.js';
import { openPostgresControlStorage } from '../../src/storage/postgres/control.js';
import { openPostgresPackageStorage } from '../../src/storage/postgres/packages.js';
import type { PackageStorage } from '../../src/storage/packages.js';
import { openPostgresStorage } from '../../src/storage/postgres/index.js';
import { openSqliteAccountStorage } from '../../src/storage/sqlite/accounts.js';
import { openSqliteClientCredentialStore } from '../../src/storage/sqlite/client-credentials.js';
import { openSqliteControlStorage } from '../../src/storage/sqlite/control.js';
import { openPostgresSoftwareStorage } from '../../src/storage/postgres/software.js';
import { openSqliteSoftwareStorage } from '../../src/storage/sqlite/software.js';
import type { SoftwareStorage } from '../../src/storage/software.js';
import { openSqlitePackageStorage } from '../../src/storage/sqlite/packages.js';
import { openPostgresTimeSeriesStorage } from '../../src/storage/postgres/time-series/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { openSqliteTimeSeriesStorage } from '../../src/storage/sqlite/time-series/index.js';
import type { ClientCredentialStore, Storage } from '../../src/storage/storage.js';
import type { TimeSeriesStorage } from '../../src/storage/time-series.js';
import { freshDatabase } from '../helpers/engines.js';
import type { OpenedTimeSeries } from './time-series-conformance.js';

/**
 * Every storage backend, as kysely lists its dialects: each conformance suite runs once per entry.
 * A backend opens a fresh, empty place (a temp file, a new database on the shared test server).
 */
export interface Place {
  /** The SQLite file and its folder; absent for a database server. */
  file?: string;
  dir?: string;
  openStorage(): Promise<Storage>;
  openCredentials(): Promise<ClientCredentialStore>;
  openAccounts(): Promise<AccountStorage>;
  openControl(): Promise<ControlStorage>;
  openSoftware(): Promise<SoftwareStorage>;
  openRollouts(): Promise<RolloutStorage>;
  /** Package files; `chunkSize` small in tests so a few KB cross many chunks. */
  openPackages(options?: { chunkSize?: number; pieceSize?: number }): Promise<PackageStorage>;
  remove(): Promise<void>;
}

export interface Backend {
  name: string;
  create(): Promise<Place>;
}

function sqlite(name: string, options: { synchronous?: 'FULL' | 'NORMAL'; commitDelayMs?: number }): Backend {
  return {
    name,
    async create() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
      const file = path.join(dir, 'tether.db');
      return {
        file,
        dir,
        openStorage: () => openSqliteStorage({ file, ...options }),
        openCredentials: () => openSqliteClientCredentialStore({ file }),
        openAccounts: () => openSqliteAccountStorage({ file }),
        openControl: () => openSqliteControlStorage({ file: path.join(dir, 'control.db'), ...(options.synchronous && { synchronous: options.synchronous }) }),
        openSoftware: () => openSqliteSoftwareStorage({ file: path.join(dir, 'software.db'), ...(options.synchronous && { synchronous: options.synchronous }) }),
        openRollouts: () => openSqliteRolloutStorage({ file: path.join(dir, 'rollouts.db'), ...(options.synchronous && { synchronous: options.synchronous }) }),
        openPackages: (chunks = {}) => openSqlitePackageStorage({ file: path.join(dir, 'packages.db'), ...chunks, ...(options.synchronous && { synchronous: options.synchronous }) }),
        remove: async () => fs.rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

const postgres: Backend = {
  name: 'postgres',
  async create() {
    const database = await freshDatabase();
    return {
      openStorage: () => openPostgresStorage({ url: database.url, maxConnections: 4 }),
      openCredentials: () => openPostgresClientCredentialStore({ url: database.url }),
      openAccounts: () => openPostgresAccountStorage({ url: database.url }),
      openControl: () => openPostgresControlStorage({ url: database.url }),
      openSoftware: () => openPostgresSoftwareStorage({ url: database.url }),
      openRollouts: () => openPostgresRolloutStorage({ url: database.url }),
      openPackages: (chunks = {}) => openPostgresPackageStorage({ url: database.url, ...chunks }),
      remove: () => database.drop(),
    };
  },
};

export const BACKENDS: readonly Backend[] = [sqlite('sqlite {}', {}), sqlite('sqlite {"synchronous":"NORMAL","commitDelayMs":2}', { synchronous: 'NORMAL', commitDelayMs: 2 }), postgres];

/** Test suites that are not conformance suites run on one backend pair; TETHER_TEST_BACKEND picks it. */
export const TEST_BACKEND_KINDS = ['sqlite', 'postgres'] as const;
export type TestBackendKind = (typeof TEST_BACKEND_KINDS)[number];

/** `TETHER_TEST_BACKEND=postgres` runs them on PostgreSQL and NATS (.ci/run does, for the transport and API suites). */
export function testBackendKind(env: NodeJS.ProcessEnv = process.env): TestBackendKind {
  const raw = env['TETHER_TEST_BACKEND'];
  if (raw === undefined || raw === '') return 'sqlite';
  const kind = TEST_BACKEND_KINDS.find((k) => k === raw);
  if (kind === undefined) throw new Error(`TETHER_TEST_BACKEND=${raw}: use one of ${TEST_BACKEND_KINDS.join(', ')}`);
  return kind;
}

/** The storage backend of the selected pair: the first SQLite entry, or PostgreSQL. */
export function testStorageBackend(): Backend {
  return testBackendKind() === 'postgres' ? postgres : BACKENDS[0]!;
}

/** Every TimeSeriesStorage backend; test/storage/time-series.test.ts runs the suite on each. */
export interface TimeSeriesBackend {
  name: string;
  open(): Promise<OpenedTimeSeries>;
}

const sqliteTimeSeries: TimeSeriesBackend = {
  name: 'sqlite',
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ts-'));
    const file = path.join(dir, 'tether.db');
    const opened: Storage[] = [await openSqliteStorage({ file })];
    const storage = openSqliteTimeSeriesStorage(opened[0]!);
    return {
      storage,
      reopen: async () => {
        // The time series storage shares the register's writer: reopen both.
        await opened[0]!.close();
        opened.push(await openSqliteStorage({ file }));
        return openSqliteTimeSeriesStorage(opened.at(-1)!);
      },
      cleanup: async () => {
        await storage.close();
        for (const s of opened) await s.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgresTimeSeries: TimeSeriesBackend = {
  name: 'postgres',
  async open() {
    const database = await freshDatabase();
    const opened: TimeSeriesStorage[] = [await openPostgresTimeSeriesStorage({ url: database.url, maxConnections: 4 })];
    return {
      storage: opened[0]!,
      reopen: async () => {
        opened.push(await openPostgresTimeSeriesStorage({ url: database.url, maxConnections: 4 }));
        return opened.at(-1)!;
      },
      cleanup: async () => {
        for (const s of opened) await s.close();
        await database.drop();
      },
    };
  },
};

export const TIME_SERIES_BACKENDS: readonly TimeSeriesBackend[] = [sqliteTimeSeries, postgresTimeSeries];

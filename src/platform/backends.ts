/**
 * The one place that picks the backends from the configuration: one object per kind of store
 * (register, time series, client credentials, accounts, control, software, rollouts, packages, node leases) and one for the bus,
 * chosen once, so the composition root and the CLI never ask which database or bus they run on (as
 * a kysely `Dialect` hands out its driver, adapter and compiler together).
 *
 * PostgreSQL and NATS modules are loaded only when chosen: a single node on SQLite carries no
 * PostgreSQL or NATS driver in memory.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { EventBus } from '../bus/bus.js';
import { createMemoryBus } from '../bus/memory/index.js';
import type { BusConfig, StorageConfig } from '../config/types.js';
import { errors, isTetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';
import type { ControlStorage } from '../storage/control.js';
import type { RolloutStorage } from '../storage/rollouts.js';
import type { PackageStorage } from '../storage/packages.js';
import type { SoftwareStorage } from '../storage/software.js';
import type { BatchObserver } from '../storage/postgres/writer.js';
import { redactUrl } from '../storage/postgres/redact-url.js';
import { openSqliteAccountStorage } from '../storage/sqlite/accounts.js';
import { openSqliteClientCredentialStore } from '../storage/sqlite/client-credentials.js';
import { openSqliteControlStorage } from '../storage/sqlite/control.js';
import { openSqlitePackageStorage } from '../storage/sqlite/packages.js';
import { openSqliteSoftwareStorage } from '../storage/sqlite/software.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { openSqliteRolloutStorage } from '../storage/sqlite/rollouts.js';
import { openSqliteTimeSeriesStorage } from '../storage/sqlite/time-series/index.js';
import type { ClientCredentialStore, NodeLeases, Storage } from '../storage/storage.js';
import type { TimeSeriesStorage } from '../storage/time-series.js';

/** What picks the database: a TetherConfig has it; offline CLI commands fill it from their flags. */
export interface DatabaseSettings {
  dataDir: string;
  storage: StorageConfig;
}

/** What picks every backend (a TetherConfig has it all). */
export interface BackendSettings extends DatabaseSettings {
  bus: BusConfig;
  nodeId: string;
}

export interface StorageBackend {
  /** Where the data lives, for messages: the data directory, or the database URL without its password. */
  readonly where: string;
  /** Several nodes may share it: connectivity records which node holds each session. */
  readonly shared: boolean;
  /**
   * The register (applications, endpoints, tokens, metadata); opened before the other stores.
   * `onCommit` hears every group commit where the backend reports them (PostgreSQL).
   */
  open(options?: { onCommit?: BatchObserver }): Promise<Storage>;
}

export interface TimeSeriesBackend {
  /**
   * After `storage.open()`: on SQLite the data points share the register's file and writer thread
   * (one group commit for both); on PostgreSQL they have their own pool in the same database.
   */
  open(): Promise<TimeSeriesStorage>;
}

export interface StoreBackend<T> {
  open(): Promise<T>;
}

export interface AccountsBackend extends StoreBackend<AccountStorage> {
  /**
   * For offline tools (`tether admin reset-password`): opens only where a Tether has run, and says
   * so when the data directory holds no database rather than creating an empty one.
   */
  openExisting(): Promise<AccountStorage>;
}

export interface NodeLeasesBackend {
  /** After `storage.open()`: the leases live in the shared database, over the register's pool. */
  open(): NodeLeases;
}

export interface BusBackend {
  /** Other nodes hear what this one publishes (and the other way round). */
  readonly shared: boolean;
  open(options: { logger: Logger; onRemoteEvent?: (type: string) => void }): Promise<EventBus>;
}

export interface Backends {
  storage: StorageBackend;
  timeSeries: TimeSeriesBackend;
  clientCredentials: StoreBackend<ClientCredentialStore>;
  accounts: AccountsBackend;
  /** Configurations and commands (docs/control.md). */
  control: StoreBackend<ControlStorage>;
  /** Software rollouts and the state of each device in them (docs/rollouts.md). */
  rollouts: StoreBackend<RolloutStorage>;
  /** Software package files (docs/software.md). */
  packages: StoreBackend<PackageStorage>;
  /** Software versions, what endpoints run, open offers (docs/software.md). */
  software: StoreBackend<SoftwareStorage>;
  /** Present only where several nodes share the database (PostgreSQL). */
  nodeLeases: NodeLeasesBackend | undefined;
  bus: BusBackend;
}

export type DatabaseBackends = Omit<Backends, 'bus'>;

export function selectBackends(settings: BackendSettings): Backends {
  return { ...selectDatabase(settings), bus: selectBus(settings.bus, settings.nodeId) };
}

/** The stores only, for offline commands that need no bus. */
export function selectDatabase(settings: DatabaseSettings): DatabaseBackends {
  return settings.storage.kind === 'postgres' ? postgres(settings.storage.url) : sqlite(settings.dataDir, settings.storage.synchronous);
}

const NOT_OPENED = () => errors.internal(new Error('the register storage must be opened before the stores that share it'));

function sqlite(dataDir: string, synchronous: StorageConfig['synchronous']): DatabaseBackends {
  const file = path.join(dataDir, 'tether.db');
  const mode = synchronous === 'normal' ? 'NORMAL' : 'FULL';
  let register: Storage | undefined;
  return {
    storage: {
      where: dataDir,
      shared: false,
      async open() {
        register = await openSqliteFile(file, dataDir, mode);
        return register;
      },
    },
    timeSeries: {
      async open() {
        if (!register) throw NOT_OPENED();
        return openSqliteTimeSeriesStorage(register);
      },
    },
    clientCredentials: { open: () => openSqliteClientCredentialStore({ file }) },
    accounts: {
      open: () => openSqliteAccountStorage({ file }),
      async openExisting() {
        try {
          await access(file);
        } catch {
          throw errors.dataDirUnusable(dataDir, 'it holds no tether.db (has Tether been started with it?)');
        }
        return openSqliteAccountStorage({ file });
      },
    },
    // Its own file and writer (src/storage/sqlite/control.ts).
    control: { open: () => openSqliteControlStorage({ file: path.join(dataDir, 'control.db'), synchronous: mode }) },
    rollouts: { open: () => openSqliteRolloutStorage({ file: path.join(dataDir, 'rollouts.db'), synchronous: mode }) },
    // Its own file too: package chunks never weigh on tether.db (src/storage/sqlite/packages.ts).
    packages: { open: () => openSqlitePackageStorage({ file: path.join(dataDir, 'packages.db'), synchronous: mode }) },
    // Its own file and writer too (src/storage/sqlite/software.ts).
    software: { open: () => openSqliteSoftwareStorage({ file: path.join(dataDir, 'software.db'), synchronous: mode }) },
    nodeLeases: undefined,
  };
}

async function openSqliteFile(file: string, dataDir: string, synchronous: 'NORMAL' | 'FULL'): Promise<Storage> {
  try {
    return await openSqliteStorage({ file, synchronous });
  } catch (err) {
    if (isTetherError(err)) throw err;
    const code = (err as { code?: string }).code ?? '';
    // better-sqlite3 reports open failures as SqliteError with SQLITE_* codes.
    const problem =
      code === 'SQLITE_CANTOPEN' || code === 'EACCES' ? `the database ${file} cannot be opened (permission denied or not a file)`
      : code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' ? `${file} is not a Tether database or is damaged`
      : code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? `the database ${file} is locked by another process (is Tether already running on it?)`
      : `the database ${file} cannot be opened (${code || (err as Error).message})`;
    throw errors.dataDirUnusable(dataDir, problem);
  }
}

function postgres(url: string): DatabaseBackends {
  let register: { leases(): NodeLeases } | undefined;
  const accounts = async () => (await import('../storage/postgres/accounts.js')).openPostgresAccountStorage({ url });
  return {
    storage: {
      where: redactUrl(url),
      shared: true,
      async open(options = {}) {
        // An unreachable database fails the start with one DEPENDENCY_UNREACHABLE line.
        const { openPostgresStorage } = await import('../storage/postgres/index.js');
        const storage = await openPostgresStorage({ url, ...(options.onCommit && { onBatch: options.onCommit }) });
        register = storage;
        return storage;
      },
    },
    timeSeries: { open: async () => (await import('../storage/postgres/time-series/index.js')).openPostgresTimeSeriesStorage({ url }) },
    clientCredentials: { open: async () => (await import('../storage/postgres/client-credentials.js')).openPostgresClientCredentialStore({ url }) },
    // The schema is created when missing: a cluster's database may be new to the accounts tables.
    accounts: { open: accounts, openExisting: accounts },
    control: { open: async () => (await import('../storage/postgres/control.js')).openPostgresControlStorage({ url }) },
    rollouts: { open: async () => (await import('../storage/postgres/rollouts.js')).openPostgresRolloutStorage({ url }) },
    packages: { open: async () => (await import('../storage/postgres/packages.js')).openPostgresPackageStorage({ url }) },
    software: { open: async () => (await import('../storage/postgres/software.js')).openPostgresSoftwareStorage({ url }) },
    nodeLeases: {
      open() {
        if (!register) throw NOT_OPENED();
        return register.leases();
      },
    },
  };
}

function selectBus(config: BusConfig, nodeId: string): BusBackend {
  switch (config.kind) {
    case 'memory':
      return { shared: false, open: async () => createMemoryBus() };
    case 'nats':
      return {
        shared: true,
        async open({ logger, onRemoteEvent }) {
          const { connectNatsBus } = await import('../bus/nats/index.js');
          return connectNatsBus({ url: config.url, nodeId, logger, ...(onRemoteEvent && { onRemoteEvent }) });
        },
      };
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccountStorage } from '../../src/storage/accounts.js';
import { openPostgresAccountStorage } from '../../src/storage/postgres/accounts.js';
import { openPostgresClientCredentialStore } from '../../src/storage/postgres/client-credentials.js';
import { openPostgresStorage } from '../../src/storage/postgres/index.js';
import { openSqliteAccountStorage } from '../../src/storage/sqlite/accounts.js';
import { openSqliteClientCredentialStore } from '../../src/storage/sqlite/client-credentials.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import type { ClientCredentialStore, Storage } from '../../src/storage/storage.js';
import { freshDatabase } from '../helpers/engines.js';

/**
 * Every storage backend, as kysely lists its dialects: each conformance suite runs once per entry.
 * A backend opens a fresh, empty place (a temp file, a new database on the shared test server).
 */
export interface Place {
  openStorage(): Promise<Storage>;
  openCredentials(): Promise<ClientCredentialStore>;
  openAccounts(): Promise<AccountStorage>;
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
        openStorage: () => openSqliteStorage({ file, ...options }),
        openCredentials: () => openSqliteClientCredentialStore({ file }),
        openAccounts: () => openSqliteAccountStorage({ file }),
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
      remove: () => database.drop(),
    };
  },
};

export const BACKENDS: readonly Backend[] = [sqlite('sqlite {}', {}), sqlite('sqlite {"synchronous":"NORMAL","commitDelayMs":2}', { synchronous: 'NORMAL', commitDelayMs: 2 }), postgres];

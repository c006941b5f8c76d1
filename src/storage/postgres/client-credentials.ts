import { errors } from '../../core/errors.js';
import type { ClientCredentialRecord, ClientCredentialStatus, Iso } from '../../core/types.js';
import { CLIENT_CREDENTIAL_COLUMNS, type ClientCredentialRow, toClientCredentialRecord } from '../rows/client-credentials.js';
import type { ClientCredentialStore } from '../storage.js';
import type { PoolSettings } from './connection.js';
import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';
import { PoolStore, StorePool } from './store-pool.js';

/**
 * Client credentials in the same PostgreSQL database, over their own small pool (store-pool.ts; the
 * SQLite store keeps its own connection for the same reason). The table has migrations of its own,
 * so it evolves apart from the main schema, as in SQLite.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS client_credentials (
  credential_id            text PRIMARY KEY,
  application_name         text NOT NULL,
  kind                     text NOT NULL,
  username                 text CONSTRAINT client_credentials_username_key UNIQUE,
  password_hash            text,
  certificate_fingerprint  text CONSTRAINT client_credentials_fingerprint_key UNIQUE,
  certificate_subject      text,
  bound_endpoints          text NOT NULL DEFAULT '[]',
  status                   text NOT NULL,
  description              text NOT NULL DEFAULT '',
  created_date             text COLLATE "C" NOT NULL,
  status_updated_date      text NOT NULL
);
CREATE INDEX IF NOT EXISTS client_credentials_by_application ON client_credentials(application_name, created_date);
`;

const CLIENT_CREDENTIAL_MIGRATIONS: MigrationSet = {
  name: 'Client credentials',
  table: 'tether_client_credentials_schema',
  lock: ADVISORY_LOCKS.clientCredentialsMigrations,
  // 1 is idempotent: databases made before this table had versions hold the table already.
  migrations: [SCHEMA],
};

class PostgresClientCredentialStore extends PoolStore implements ClientCredentialStore {
  async insert(r: ClientCredentialRecord): Promise<void> {
    try {
      await this.query(`INSERT INTO client_credentials (${CLIENT_CREDENTIAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
        r.credentialId, r.applicationName, r.kind, r.username, r.passwordHash, r.certificateFingerprint,
        r.certificateSubject, JSON.stringify(r.boundEndpoints), r.status, r.description, r.createdDate, r.statusUpdatedDate,
      ]);
    } catch (err) {
      const { code, constraint } = err as { code?: string; constraint?: string };
      if (code === '23505') {
        const what =
          constraint === 'client_credentials_username_key' ? `Username ${JSON.stringify(r.username)}`
          : constraint === 'client_credentials_fingerprint_key' ? 'That certificate'
          : `Credential ID ${JSON.stringify(r.credentialId)}`;
        throw errors.clientCredentialTaken(what);
      }
      throw err;
    }
  }

  async get(credentialId: string): Promise<ClientCredentialRecord | undefined> {
    const row = (await this.query<ClientCredentialRow>(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE credential_id = $1`, [credentialId])).rows[0];
    return row && toClientCredentialRecord(row);
  }

  async findByUsername(username: string): Promise<ClientCredentialRecord | undefined> {
    const row = (await this.query<ClientCredentialRow>(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE username = $1`, [username])).rows[0];
    return row && toClientCredentialRecord(row);
  }

  async findByFingerprint(fingerprint: string): Promise<ClientCredentialRecord | undefined> {
    const row = (await this.query<ClientCredentialRow>(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE certificate_fingerprint = $1`, [fingerprint])).rows[0];
    return row && toClientCredentialRecord(row);
  }

  async list(applicationName?: string): Promise<ClientCredentialRecord[]> {
    const result =
      applicationName === undefined
        ? await this.query<ClientCredentialRow>(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials ORDER BY created_date, credential_id`, [])
        : await this.query<ClientCredentialRow>(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE application_name = $1 ORDER BY created_date, credential_id`, [applicationName]);
    return result.rows.map(toClientCredentialRecord);
  }

  async updateStatus(credentialId: string, status: ClientCredentialStatus, at: Iso): Promise<boolean> {
    const result = await this.query('UPDATE client_credentials SET status = $1, status_updated_date = $2 WHERE credential_id = $3', [status, at, credentialId]);
    return (result.rowCount ?? 0) > 0;
  }

  async updateBoundEndpoints(credentialId: string, endpointIds: string[]): Promise<boolean> {
    const result = await this.query('UPDATE client_credentials SET bound_endpoints = $1 WHERE credential_id = $2', [JSON.stringify(endpointIds), credentialId]);
    return (result.rowCount ?? 0) > 0;
  }

  async delete(credentialId: string): Promise<boolean> {
    return ((await this.query('DELETE FROM client_credentials WHERE credential_id = $1', [credentialId])).rowCount ?? 0) > 0;
  }
}

/** Opens the credential table in the database at `url` (creating the table when missing). */
export async function openPostgresClientCredentialStore(options: PoolSettings): Promise<ClientCredentialStore> {
  return new PostgresClientCredentialStore(await StorePool.open({ ...options, maxConnections: options.maxConnections ?? 3 }, CLIENT_CREDENTIAL_MIGRATIONS));
}

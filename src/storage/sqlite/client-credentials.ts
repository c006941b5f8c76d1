import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { errors } from '../../core/errors.js';
import type { ClientCredentialRecord, ClientCredentialStatus, Iso } from '../../core/types.js';
import { CLIENT_CREDENTIAL_COLUMNS, type ClientCredentialRow, toClientCredentialRecord } from '../rows/client-credentials.js';
import type { ClientCredentialStore } from '../storage.js';

/**
 * Client credentials in the same SQLite file as everything else, over their OWN connection.
 *
 * Why a separate connection: credential writes are rare operator actions, so they need none of the
 * group-commit machinery of the main storage, and keeping the table out of the main schema lets it
 * evolve independently (its `CREATE TABLE IF NOT EXISTS` is idempotent and needs no migration
 * number). Two connections in one process never wait on each other for long: WAL lets readers run
 * beside a writer, and the main writer's transactions begin and commit within one synchronous call,
 * so this connection's write at most meets a lock held by another process (busy_timeout covers it).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS client_credentials (
  credential_id            TEXT PRIMARY KEY,
  application_name         TEXT NOT NULL,
  kind                     TEXT NOT NULL,
  -- NULL for x509 credentials; SQLite's UNIQUE allows any number of NULLs
  username                 TEXT UNIQUE,
  password_hash            TEXT,
  certificate_fingerprint  TEXT UNIQUE,
  certificate_subject      TEXT,
  bound_endpoints          TEXT NOT NULL DEFAULT '[]',
  status                   TEXT NOT NULL,
  description              TEXT NOT NULL DEFAULT '',
  created_date             TEXT NOT NULL,
  status_updated_date      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS client_credentials_by_application ON client_credentials(application_name, created_date);
`;


interface Statements {
  insert: Statement;
  get: Statement<[string], ClientCredentialRow>;
  byUsername: Statement<[string], ClientCredentialRow>;
  byFingerprint: Statement<[string], ClientCredentialRow>;
  listAll: Statement<[], ClientCredentialRow>;
  listOf: Statement<[string], ClientCredentialRow>;
  updateStatus: Statement<[string, Iso, string]>;
  updateBound: Statement<[string, string]>;
  delete: Statement<[string]>;
}

class SqliteClientCredentialStore implements ClientCredentialStore {
  readonly kind = 'sqlite';
  private statements: Statements | undefined;
  private closed = false;

  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    if (this.statements) return;
    this.db.exec(SCHEMA);
    const db = this.db;
    this.statements = {
      insert: db.prepare(`INSERT INTO client_credentials (${CLIENT_CREDENTIAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      get: db.prepare(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE credential_id = ?`),
      byUsername: db.prepare(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE username = ?`),
      byFingerprint: db.prepare(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE certificate_fingerprint = ?`),
      listAll: db.prepare(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials ORDER BY created_date, credential_id`),
      listOf: db.prepare(`SELECT ${CLIENT_CREDENTIAL_COLUMNS} FROM client_credentials WHERE application_name = ? ORDER BY created_date, credential_id`),
      updateStatus: db.prepare('UPDATE client_credentials SET status = ?, status_updated_date = ? WHERE credential_id = ?'),
      updateBound: db.prepare('UPDATE client_credentials SET bound_endpoints = ? WHERE credential_id = ?'),
      delete: db.prepare('DELETE FROM client_credentials WHERE credential_id = ?'),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private use(): Statements {
    if (this.closed || !this.statements) throw errors.unavailable();
    return this.statements;
  }

  async insert(r: ClientCredentialRecord): Promise<void> {
    const s = this.use();
    try {
      s.insert.run(
        r.credentialId, r.applicationName, r.kind, r.username, r.passwordHash, r.certificateFingerprint,
        r.certificateSubject, JSON.stringify(r.boundEndpoints), r.status, r.description, r.createdDate, r.statusUpdatedDate,
      );
    } catch (err) {
      const { code, message } = err as { code?: string; message?: string };
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        const what =
          message?.includes('username') ? `Username ${JSON.stringify(r.username)}`
          : message?.includes('certificate_fingerprint') ? 'That certificate'
          : `Credential ID ${JSON.stringify(r.credentialId)}`;
        throw errors.clientCredentialTaken(what);
      }
      throw err;
    }
  }

  async get(credentialId: string): Promise<ClientCredentialRecord | undefined> {
    const row = this.use().get.get(credentialId);
    return row && toClientCredentialRecord(row);
  }

  async findByUsername(username: string): Promise<ClientCredentialRecord | undefined> {
    const row = this.use().byUsername.get(username);
    return row && toClientCredentialRecord(row);
  }

  async findByFingerprint(fingerprint: string): Promise<ClientCredentialRecord | undefined> {
    const row = this.use().byFingerprint.get(fingerprint);
    return row && toClientCredentialRecord(row);
  }

  async list(applicationName?: string): Promise<ClientCredentialRecord[]> {
    const s = this.use();
    const rows = applicationName === undefined ? s.listAll.all() : s.listOf.all(applicationName);
    return rows.map(toClientCredentialRecord);
  }

  async updateStatus(credentialId: string, status: ClientCredentialStatus, at: Iso): Promise<boolean> {
    return this.use().updateStatus.run(status, at, credentialId).changes > 0;
  }

  async updateBoundEndpoints(credentialId: string, endpointIds: string[]): Promise<boolean> {
    return this.use().updateBound.run(JSON.stringify(endpointIds), credentialId).changes > 0;
  }

  async delete(credentialId: string): Promise<boolean> {
    return this.use().delete.run(credentialId).changes > 0;
  }
}

/** Opens the credential table in `file` (creating the file and table when missing). */
export async function openSqliteClientCredentialStore(options: { file: string }): Promise<ClientCredentialStore> {
  const db = new Database(options.file);
  try {
    db.pragma('journal_mode = WAL');
    // An acknowledged revoke or password change must survive a power loss.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const store = new SqliteClientCredentialStore(db);
    await store.init();
    return store;
  } catch (err) {
    db.close();
    throw err;
  }
}

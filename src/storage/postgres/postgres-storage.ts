import type pg from 'pg';
import { errors } from '../../core/errors.js';
import type {
  AppVersion,
  Application,
  EndpointQuery,
  EndpointRecord,
  Iso,
  JsonValue,
  Metadata,
  MetadataChange,
  Page,
  TokenRecord,
  TokenStatus,
} from '../../core/types.js';
import { type AppVersionRow, type ApplicationRow, ENDPOINT_COLUMNS, type TokenRow, toAppVersion, toApplication, toEndpoint, toToken, tokenParams } from '../rows/registry.js';
import type { NodeLeases, Storage } from '../storage.js';
import { isConnectionError, mapUniqueViolation } from './constraint-errors.js';
import { compileEndpointQuery } from './endpoint-query.js';
import { type PgEndpointRow, pgIndexRowOf } from './rows.js';
import { createPgNodeLeases } from './node-leases.js';
import { migrate } from './schema.js';
import { type BatchObserver, PgWriter } from './writer.js';

const TOKEN_COLUMNS = 'token_id, application_name, endpoint_id, token_hash, status, created_date, status_updated_date, hint';

/**
 * Storage over PostgreSQL through one `pg` pool. Reads take any pooled connection; writes go
 * through the group-commit writer (writer.ts), which takes one connection per batch. Every Tether
 * node of a cluster opens its own pool on the same database; the database serializes them (row
 * locks, unique constraints), so nodes need no coordination of their own for storage.
 */
export class PostgresStorage implements Storage {
  readonly kind = 'postgres';
  private readonly writer: PgWriter;
  private initialized = false;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    observe?: BatchObserver,
  ) {
    this.writer = new PgWriter(pool, observe);
  }

  async init(): Promise<void> {
    if (this.closed) throw errors.unavailable();
    if (this.initialized) return;
    const client = await this.pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
    this.initialized = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.flush();
    await this.pool.end();
  }

  /** Node leases on this database (src/cluster/membership.ts). */
  leases(): NodeLeases {
    return createPgNodeLeases(this.pool);
  }

  /** True when a trivial query answers. */
  async ping(): Promise<boolean> {
    return (await this.unreadyReason()) === undefined;
  }

  /** Undefined when a trivial query answers; otherwise why not, for /readyz. */
  async unreadyReason(): Promise<string | undefined> {
    if (this.closed) return 'PostgreSQL storage is closed';
    try {
      await this.pool.query('SELECT 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  // --- applications ------------------------------------------------------

  insertApplication(app: Application): Promise<void> {
    return this.exec(
      (c) => c.query('INSERT INTO applications (name, description, created_date) VALUES ($1, $2, $3)', [app.name, app.description, app.createdDate]),
      { applications_pkey: () => errors.applicationTaken(app.name) },
    );
  }

  getApplication(name: string): Promise<Application | undefined> {
    return this.one<ApplicationRow>('SELECT * FROM applications WHERE name = $1', [name]).then((row) => row && toApplication(row));
  }

  listApplications(): Promise<Application[]> {
    return this.rows<ApplicationRow>('SELECT * FROM applications ORDER BY name').then((rows) => rows.map(toApplication));
  }

  deleteApplication(name: string): Promise<boolean> {
    // Foreign keys cascade to versions, endpoints, their metadata and tokens.
    return this.write(async (c) => ((await c.query('DELETE FROM applications WHERE name = $1', [name])).rowCount ?? 0) > 0);
  }

  insertAppVersion(version: AppVersion): Promise<void> {
    return this.exec(
      (c) =>
        c.query('INSERT INTO app_versions (name, application_name, registered_date, extensions, metadata_key_access) VALUES ($1, $2, $3, $4, $5)', [
          version.name,
          version.applicationName,
          version.registeredDate,
          JSON.stringify(version.extensions),
          JSON.stringify(version.metadataKeyAccess),
        ]),
      { app_versions_pkey: () => errors.appVersionTaken(version.name) },
    );
  }

  updateAppVersion(version: AppVersion): Promise<void> {
    return this.exec((c) =>
      c.query('UPDATE app_versions SET extensions = $1, metadata_key_access = $2 WHERE name = $3', [
        JSON.stringify(version.extensions),
        JSON.stringify(version.metadataKeyAccess),
        version.name,
      ]),
    );
  }

  getAppVersion(name: string): Promise<AppVersion | undefined> {
    return this.one<AppVersionRow>('SELECT * FROM app_versions WHERE name = $1', [name]).then((row) => row && toAppVersion(row));
  }

  listAppVersions(applicationName?: string): Promise<AppVersion[]> {
    const rows =
      applicationName === undefined
        ? this.rows<AppVersionRow>('SELECT * FROM app_versions ORDER BY name')
        : this.rows<AppVersionRow>('SELECT * FROM app_versions WHERE application_name = $1 ORDER BY name', [applicationName]);
    return rows.then((r) => r.map(toAppVersion));
  }

  // --- endpoints ---------------------------------------------------------

  insertEndpoint(endpoint: EndpointRecord, metadata: Metadata, token?: TokenRecord): Promise<void> {
    return this.write(
      async (c) => {
        const { rows } = await c.query<{ seq: string }>(
          `INSERT INTO endpoints (endpoint_id, application_name, app_version_name, created_date, metadata_updated_date, connected,
             connectivity_ts, last_connected_date, last_disconnected_date, last_seen, metadata)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq`,
          [
            endpoint.endpointId,
            endpoint.applicationName,
            endpoint.appVersionName,
            endpoint.createdDate,
            endpoint.metadataUpdatedDate,
            endpoint.connected,
            endpoint.connectivityTs,
            endpoint.lastConnectedDate,
            endpoint.lastDisconnectedDate,
            endpoint.lastSeen,
            JSON.stringify(metadata),
          ],
        );
        const seq = rows[0]!.seq;
        const entries = Object.entries(metadata);
        if (entries.length > 0) {
          const index = entries.map(([, value]) => pgIndexRowOf(value));
          await c.query(
            `INSERT INTO endpoint_metadata (endpoint_seq, key, application_name, canon, sort_kind, sort_num, sort_text, search_text)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::float8[], $7::text[], $8::text[])`,
            [
              seq,
              entries.map(([key]) => key),
              entries.map(() => endpoint.applicationName),
              index.map((r) => r.canon),
              index.map((r) => r.sortKind),
              index.map((r) => r.sortNum),
              index.map((r) => r.sortText),
              index.map((r) => r.searchText),
            ],
          );
        }
        if (token) await insertTokenRow(c, token);
      },
      {
        endpoints_endpoint_id_key: () => errors.endpointIdTaken(endpoint.endpointId),
        tokens_hash_unique: () => errors.tokenTaken(),
      },
    );
  }

  getEndpoint(endpointId: string, includeMetadata: boolean): Promise<EndpointRecord | undefined> {
    const columns = includeMetadata ? `${ENDPOINT_COLUMNS}, e.metadata` : ENDPOINT_COLUMNS;
    return this.one<PgEndpointRow>(`SELECT ${columns} FROM endpoints e WHERE e.endpoint_id = $1`, [endpointId]).then((row) => row && toEndpoint(row, includeMetadata));
  }

  async queryEndpoints(query: EndpointQuery): Promise<Page<EndpointRecord>> {
    this.assertOpen();
    const columns = query.includeMetadata ? `${ENDPOINT_COLUMNS}, e.metadata` : ENDPOINT_COLUMNS;
    const sql = compileEndpointQuery(query, columns);
    const [count, page] = await Promise.all([this.rows<{ n: number }>(sql.count.text, sql.count.values), this.rows<PgEndpointRow>(sql.page.text, sql.page.values)]);
    return { totalElements: count[0]?.n ?? 0, content: page.map((row) => toEndpoint(row, query.includeMetadata)) };
  }

  deleteEndpoint(endpointId: string): Promise<boolean> {
    // Foreign keys cascade to metadata rows and tokens.
    return this.write(async (c) => ((await c.query('DELETE FROM endpoints WHERE endpoint_id = $1', [endpointId])).rowCount ?? 0) > 0);
  }

  // --- metadata ------------------------------------------------------------

  getMetadata(endpointId: string): Promise<Metadata | undefined> {
    return this.one<{ metadata: string }>('SELECT metadata FROM endpoints WHERE endpoint_id = $1', [endpointId]).then(
      (row) => row && (JSON.parse(row.metadata) as Metadata),
    );
  }

  changeMetadata(endpointId: string, change: MetadataChange, at: Iso): Promise<Metadata | undefined> {
    return this.hot(() => this.writer.changeMetadata(endpointId, change, at));
  }

  metadataKeysOfApplication(applicationName: string): Promise<string[]> {
    return this.rows<{ key: string }>('SELECT DISTINCT key FROM endpoint_metadata WHERE application_name = $1 ORDER BY key', [applicationName]).then((rows) =>
      rows.map((r) => r.key),
    );
  }

  // --- tokens ----------------------------------------------------------------

  insertToken(token: TokenRecord): Promise<void> {
    return this.exec((c) => insertTokenRow(c, token), { tokens_hash_unique: () => errors.tokenTaken() });
  }

  findTokenByHash(applicationName: string, tokenHash: string): Promise<TokenRecord | undefined> {
    return this.one<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE application_name = $1 AND token_hash = $2`, [applicationName, tokenHash]).then(
      (row) => row && toToken(row),
    );
  }

  getToken(tokenId: string): Promise<TokenRecord | undefined> {
    return this.one<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_id = $1`, [tokenId]).then((row) => row && toToken(row));
  }

  listTokens(endpointId: string): Promise<TokenRecord[]> {
    return this.rows<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE endpoint_id = $1 ORDER BY created_date, token_id`, [endpointId]).then((rows) =>
      rows.map(toToken),
    );
  }

  updateTokenStatus(tokenId: string, status: TokenStatus, at: Iso): Promise<void> {
    return this.exec((c) => c.query('UPDATE tokens SET status = $1, status_updated_date = $2 WHERE token_id = $3', [status, at, tokenId]));
  }

  // --- connectivity (9/ELCE) ----------------------------------------------------

  recordConnectivity(endpointId: string, connected: boolean, at: Iso, nodeId?: string): Promise<void> {
    return this.hot(() => this.writer.recordConnectivity(endpointId, connected, at, nodeId ?? null));
  }

  recordSeen(endpointId: string, at: Iso): Promise<void> {
    return this.hot(() => this.writer.recordSeen(endpointId, at));
  }

  resetConnectivity(at: Iso): Promise<number> {
    return this.write(
      async (c) =>
        (await c.query('UPDATE endpoints SET connected = false, connectivity_ts = $1, last_disconnected_date = $1, connected_node = NULL WHERE connected', [at]))
          .rowCount ?? 0,
    );
  }

  disconnectNode(nodeId: string, at: Iso): Promise<Array<{ endpointId: string; applicationName: string }>> {
    return this.write(async (c) => {
      const { rows } = await c.query<{ endpoint_id: string; application_name: string }>(
        `UPDATE endpoints SET connected = false, connectivity_ts = $1, last_disconnected_date = $1, connected_node = NULL
          WHERE connected AND connected_node = $2 RETURNING endpoint_id, application_name`,
        [at, nodeId],
      );
      return rows.map((r) => ({ endpointId: r.endpoint_id, applicationName: r.application_name }));
    });
  }

  // --- settings --------------------------------------------------------------------

  getSetting(key: string): Promise<JsonValue | undefined> {
    return this.one<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]).then((row) => row && (JSON.parse(row.value) as JsonValue));
  }

  putSetting(key: string, value: JsonValue): Promise<void> {
    return this.exec((c) =>
      c.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]),
    );
  }

  deleteSetting(key: string): Promise<boolean> {
    return this.write(async (c) => ((await c.query('DELETE FROM settings WHERE key = $1', [key])).rowCount ?? 0) > 0);
  }

  // --- plumbing ------------------------------------------------------------------------

  private async rows<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<T>(text, values)).rows;
    } catch (err) {
      // A lost database is "retry later", not an internal error.
      throw isConnectionError(err) ? errors.unavailable(err) : err;
    }
  }

  private async one<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, values))[0];
  }

  private write<T>(run: (client: pg.PoolClient) => Promise<T>, conflicts?: Parameters<typeof mapUniqueViolation>[1]): Promise<T> {
    return this.hot(() => this.writer.statement(run, conflicts && ((err: unknown) => mapUniqueViolation(err, conflicts))));
  }

  /** A write whose result the caller does not want. */
  private exec(run: (client: pg.PoolClient) => Promise<unknown>, conflicts?: Parameters<typeof mapUniqueViolation>[1]): Promise<void> {
    return this.write(run, conflicts).then(() => undefined);
  }

  private hot<T>(run: () => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
      return run();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable();
    if (!this.initialized) throw errors.unavailable(new Error('PostgreSQL storage used before init()'));
  }
}

function insertTokenRow(c: pg.PoolClient, token: TokenRecord): Promise<unknown> {
  const t = tokenParams(token);
  return c.query(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    t.token_id,
    t.application_name,
    t.endpoint_id,
    t.token_hash,
    t.status,
    t.created_date,
    t.status_updated_date,
    t.hint,
  ]);
}

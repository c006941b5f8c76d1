import type { Database, Statement } from 'better-sqlite3';
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
import type { Storage } from '../storage.js';
import { mapUniqueViolation } from './constraint-errors.js';
import { ENDPOINT_COLUMNS, planEndpointPage } from './endpoint-query.js';
import { applyChange, endpointSearchText, indexRowOf } from './metadata-rows.js';
import {
  type AppVersionRow,
  type ApplicationRow,
  type EndpointRow,
  type TokenRow,
  toAppVersion,
  toApplication,
  toEndpoint,
  toToken,
  tokenParams,
} from './rows.js';
import { migrate } from './schema.js';
import { type Statements, prepareStatements } from './statements.js';
import { GroupCommitWriter } from './writer.js';

const QUERY_CACHE_SIZE = 64;

/**
 * Storage over one SQLite file. Reads run directly (better-sqlite3 is synchronous and WAL readers
 * see the last commit); every write goes through the group-commit writer.
 */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  private statements: Statements | undefined;
  private readonly writer: GroupCommitWriter;
  /** Compiled endpoint queries by SQL text: dashboards repeat the same few shapes. */
  private readonly queryCache = new Map<string, Statement<unknown[], unknown>>();
  private closed = false;

  constructor(
    private readonly db: Database,
    commitDelayMs: number,
  ) {
    this.writer = new GroupCommitWriter(db, commitDelayMs, () => this.flushSearchIndex());
  }

  async init(): Promise<void> {
    this.assertOpen();
    if (this.statements) return;
    migrate(this.db);
    // Refreshes planner statistics where stale (bounded work), so endpoint queries pick the right index.
    this.db.pragma('optimize=0x10002');
    this.statements = prepareStatements(this.db);
    // Another process may have committed queued search rows without applying them.
    this.db.transaction(() => this.flushSearchIndex()).immediate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.flush();
    this.queryCache.clear();
    this.db.pragma('optimize');
    this.db.close();
  }

  // --- applications ------------------------------------------------------

  insertApplication(app: Application): Promise<void> {
    return this.write((s) => {
      try {
        s.insertApplication.run(app.name, app.description, app.createdDate);
      } catch (err) {
        mapUniqueViolation(err, { 'applications.name': () => errors.applicationTaken(app.name) });
      }
    });
  }

  getApplication(name: string): Promise<Application | undefined> {
    return this.read((s) => {
      const row = s.getApplication.get(name) as ApplicationRow | undefined;
      return row && toApplication(row);
    });
  }

  listApplications(): Promise<Application[]> {
    return this.read((s) => (s.listApplications.all() as ApplicationRow[]).map(toApplication));
  }

  deleteApplication(name: string): Promise<boolean> {
    // Foreign keys cascade to versions, endpoints, their metadata and tokens.
    return this.write((s) => s.deleteApplication.run(name).changes > 0);
  }

  insertAppVersion(version: AppVersion): Promise<void> {
    return this.write((s) => {
      try {
        s.insertAppVersion.run(
          version.name,
          version.applicationName,
          version.registeredDate,
          JSON.stringify(version.extensions),
          JSON.stringify(version.metadataKeyAccess),
        );
      } catch (err) {
        mapUniqueViolation(err, { 'app_versions.name': () => errors.appVersionTaken(version.name) });
      }
    });
  }

  updateAppVersion(version: AppVersion): Promise<void> {
    return this.write((s) => {
      s.updateAppVersion.run(JSON.stringify(version.extensions), JSON.stringify(version.metadataKeyAccess), version.name);
    });
  }

  getAppVersion(name: string): Promise<AppVersion | undefined> {
    return this.read((s) => {
      const row = s.getAppVersion.get(name) as AppVersionRow | undefined;
      return row && toAppVersion(row);
    });
  }

  listAppVersions(applicationName?: string): Promise<AppVersion[]> {
    return this.read((s) => {
      const rows = (applicationName === undefined ? s.listAppVersions.all() : s.listAppVersionsOf.all(applicationName)) as AppVersionRow[];
      return rows.map(toAppVersion);
    });
  }

  // --- endpoints ---------------------------------------------------------

  insertEndpoint(endpoint: EndpointRecord, metadata: Metadata, token?: TokenRecord): Promise<void> {
    return this.write((s) => {
      try {
        const { lastInsertRowid } = s.insertEndpoint.run({
          endpoint_id: endpoint.endpointId,
          application_name: endpoint.applicationName,
          app_version_name: endpoint.appVersionName,
          created_date: endpoint.createdDate,
          metadata_updated_date: endpoint.metadataUpdatedDate,
          connected: endpoint.connected ? 1 : 0,
          connectivity_ts: endpoint.connectivityTs,
          last_seen: endpoint.lastSeen,
          metadata: JSON.stringify(metadata),
          search_text: endpointSearchText(endpoint.endpointId, metadata),
        });
        const seq = Number(lastInsertRowid);
        s.insertEndpointSearch.run(seq, endpoint.endpointId.toLowerCase());
        for (const [key, value] of Object.entries(metadata)) {
          const row = indexRowOf(value);
          s.upsertMetadataKey.run(seq, key, endpoint.applicationName, row.canon, row.sortValue, row.searchText);
        }
        if (token) s.insertToken.run(tokenParams(token));
      } catch (err) {
        mapUniqueViolation(err, {
          'endpoints.endpoint_id': () => errors.endpointIdTaken(endpoint.endpointId),
          'tokens.application_name, tokens.token_hash': () => errors.tokenTaken(),
        });
      }
    });
  }

  getEndpoint(endpointId: string, includeMetadata: boolean): Promise<EndpointRecord | undefined> {
    return this.read((s) => {
      const statement = includeMetadata ? s.getEndpointWithMetadata : s.getEndpoint;
      const row = statement.get(endpointId) as EndpointRow | undefined;
      return row && toEndpoint(row, includeMetadata);
    });
  }

  queryEndpoints(query: EndpointQuery): Promise<Page<EndpointRecord>> {
    return this.read(() => {
      const run = (sql: string, params: unknown[]) => this.prepareCached(sql).all(...params);
      const { totalElements, seqs } = planEndpointPage(query, run);
      if (seqs.length === 0) return { totalElements, content: [] };
      const columns = query.includeMetadata ? `${ENDPOINT_COLUMNS}, e.metadata` : ENDPOINT_COLUMNS;
      const rows = run(`SELECT ${columns} FROM endpoints e WHERE e.seq IN (SELECT value FROM json_each(?))`, [
        JSON.stringify(seqs),
      ]) as EndpointRow[];
      const bySeq = new Map(rows.map((row) => [row.seq, row]));
      const content: EndpointRecord[] = [];
      for (const seq of seqs) {
        const row = bySeq.get(seq);
        if (row) content.push(toEndpoint(row, query.includeMetadata));
      }
      return { totalElements, content };
    });
  }

  deleteEndpoint(endpointId: string): Promise<boolean> {
    // Foreign keys cascade to metadata rows and tokens.
    return this.write((s) => s.deleteEndpoint.run(endpointId).changes > 0);
  }

  // --- metadata ------------------------------------------------------------

  getMetadata(endpointId: string): Promise<Metadata | undefined> {
    return this.read((s) => {
      const row = s.getMetadataDoc.get(endpointId) as { metadata: string } | undefined;
      return row && (JSON.parse(row.metadata) as Metadata);
    });
  }

  changeMetadata(endpointId: string, change: MetadataChange, at: Iso): Promise<Metadata | undefined> {
    // Reads the document inside the batch transaction, so concurrent merges never lose keys.
    return this.write((s) => {
      const row = s.getMetadataDoc.get(endpointId) as { seq: number; application_name: string; metadata: string } | undefined;
      if (!row) return undefined;
      const applied = applyChange(JSON.parse(row.metadata) as Metadata, change);
      s.updateMetadataDoc.run(JSON.stringify(applied.metadata), endpointSearchText(endpointId, applied.metadata), at, row.seq);
      for (const key of applied.removed) s.deleteMetadataKey.run(row.seq, key);
      for (const key of applied.upserted) {
        const index = indexRowOf(applied.metadata[key]!);
        s.upsertMetadataKey.run(row.seq, key, row.application_name, index.canon, index.sortValue, index.searchText);
      }
      return applied.metadata;
    });
  }

  metadataKeysOfApplication(applicationName: string): Promise<string[]> {
    return this.read((s) => (s.metadataKeysOfApplication.all({ app: applicationName }) as Array<{ key: string }>).map((r) => r.key));
  }

  // --- tokens ----------------------------------------------------------------

  insertToken(token: TokenRecord): Promise<void> {
    return this.write((s) => {
      try {
        s.insertToken.run(tokenParams(token));
      } catch (err) {
        mapUniqueViolation(err, { 'tokens.application_name, tokens.token_hash': () => errors.tokenTaken() });
      }
    });
  }

  findTokenByHash(applicationName: string, tokenHash: string): Promise<TokenRecord | undefined> {
    return this.read((s) => {
      const row = s.findTokenByHash.get(applicationName, tokenHash) as TokenRow | undefined;
      return row && toToken(row);
    });
  }

  getToken(tokenId: string): Promise<TokenRecord | undefined> {
    return this.read((s) => {
      const row = s.getToken.get(tokenId) as TokenRow | undefined;
      return row && toToken(row);
    });
  }

  listTokens(endpointId: string): Promise<TokenRecord[]> {
    return this.read((s) => (s.listTokens.all(endpointId) as TokenRow[]).map(toToken));
  }

  updateTokenStatus(tokenId: string, status: TokenStatus, at: Iso): Promise<void> {
    return this.write((s) => {
      s.updateTokenStatus.run(status, at, tokenId);
    });
  }

  // --- connectivity (9/ELCE) ----------------------------------------------------

  recordConnectivity(endpointId: string, connected: boolean, at: Iso): Promise<void> {
    return this.write((s) => {
      (connected ? s.recordConnected : s.recordDisconnected).run({ at, id: endpointId });
    });
  }

  recordSeen(endpointId: string, at: Iso): Promise<void> {
    try {
      this.assertOpen();
      const statements = this.requireStatements();
      // Called for every device message: a batch writes each endpoint's latest time once.
      // ISO strings order like the times they name.
      return this.writer.enqueueCoalesced(
        endpointId,
        at,
        (latest) => void statements.recordSeen.run(latest, endpointId),
        (a, b) => (b > a ? b : a),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  resetConnectivity(at: Iso): Promise<number> {
    return this.write((s) => s.resetConnectivity.run(at).changes);
  }

  // --- settings --------------------------------------------------------------------

  getSetting(key: string): Promise<JsonValue | undefined> {
    return this.read((s) => {
      const row = s.getSetting.get(key) as { value: string } | undefined;
      return row && (JSON.parse(row.value) as JsonValue);
    });
  }

  putSetting(key: string, value: JsonValue): Promise<void> {
    return this.write((s) => {
      s.putSetting.run(key, JSON.stringify(value));
    });
  }

  deleteSetting(key: string): Promise<boolean> {
    return this.write((s) => s.deleteSetting.run(key).changes > 0);
  }

  // --- plumbing ------------------------------------------------------------------------

  private read<T>(run: (s: Statements) => T): Promise<T> {
    try {
      this.assertOpen();
      return Promise.resolve(run(this.requireStatements()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private write<T>(run: (s: Statements) => T): Promise<T> {
    try {
      this.assertOpen();
      const statements = this.requireStatements();
      return this.writer.enqueue(() => run(statements));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Applies the search index changes the batch's triggers queued (see schema.ts), in one go. */
  private flushSearchIndex(): void {
    const s = this.requireStatements();
    if (!s.hasPendingSearchRows.get()) return;
    s.searchDeletePending.run();
    s.searchInsertPending.run();
    s.clearPendingSearchRows.run();
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable();
  }

  private requireStatements(): Statements {
    if (!this.statements) throw errors.unavailable(new Error('SQLite storage used before init()'));
    return this.statements;
  }

  private prepareCached(sql: string): Statement<unknown[], unknown> {
    let statement = this.queryCache.get(sql);
    if (!statement) {
      if (this.queryCache.size >= QUERY_CACHE_SIZE) {
        // Evict the oldest entry: Map iteration follows insertion order.
        this.queryCache.delete(this.queryCache.keys().next().value!);
      }
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.queryCache.set(sql, statement);
    }
    return statement;
  }
}

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
import { type SynchronousMode, openDatabase } from './connection.js';
import { mapUniqueViolation } from './constraint-errors.js';
import { planEndpointPage } from './endpoint-query.js';
import {
  type AppVersionRow,
  type ApplicationRow,
  ENDPOINT_COLUMNS,
  type EndpointRow,
  type TokenRow,
  toAppVersion,
  toApplication,
  toEndpoint,
  toToken,
} from '../rows/registry.js';
import { type Statements, prepareStatements } from './statements.js';
import type { WriteOpName, WriteOps } from './write-ops.js';
import { WriterThread } from './writer.js';

const QUERY_CACHE_SIZE = 64;

export interface SqliteStorageSettings {
  file: string;
  synchronous: SynchronousMode;
  commitDelayMs: number;
  /** Told once when the writer thread dies (every write then rejects with UNAVAILABLE). */
  onWriterFailure: (err: unknown) => void;
}

/**
 * Storage over one SQLite file with two connections. Writes go to a writer thread (writer.ts,
 * write-worker.ts) that owns the write connection, migrates the schema and group-commits; reads
 * run directly on this thread's own connection (better-sqlite3 is synchronous). WAL lets that
 * reader run beside the writer, and a read after a resolved write sees it: the write committed
 * before its promise resolved, and each read statement starts from the latest commit.
 */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  private db: Database | undefined;
  private statements: Statements | undefined;
  private writer: WriterThread | undefined;
  /** Compiled endpoint queries by SQL text: dashboards repeat the same few shapes. */
  private readonly queryCache = new Map<string, Statement<unknown[], unknown>>();
  private closed = false;

  constructor(private readonly settings: SqliteStorageSettings) {}

  async init(): Promise<void> {
    this.assertOpen();
    if (this.statements) return;
    const { file, synchronous, commitDelayMs, onWriterFailure } = this.settings;
    // The writer creates or migrates the schema before this thread opens its reading connection.
    this.writer ??= await WriterThread.start({ file, synchronous }, commitDelayMs, onWriterFailure);
    this.db ??= openDatabase(file, synchronous);
    this.db.pragma('query_only = ON');
    this.statements = prepareStatements(this.db);
  }

  /** The database file, for the time series storage that shares it (time-series/index.ts). */
  get file(): string {
    return this.settings.file;
  }

  /** The writer thread, shared by the time series storage so both commit in the same groups. */
  sharedWriter(): WriterThread {
    return this.requireWriter();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer?.close();
    } finally {
      this.queryCache.clear();
      this.db?.close();
    }
  }

  // --- applications ------------------------------------------------------

  insertApplication(app: Application): Promise<void> {
    return this.write('insertApplication', app).catch((err: unknown) =>
      mapUniqueViolation(err, { 'applications.name': () => errors.applicationTaken(app.name) }),
    );
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
    return this.write('deleteApplication', name);
  }

  insertAppVersion(version: AppVersion): Promise<void> {
    return this.write('insertAppVersion', version).catch((err: unknown) =>
      mapUniqueViolation(err, { 'app_versions.name': () => errors.appVersionTaken(version.name) }),
    );
  }

  updateAppVersion(version: AppVersion): Promise<void> {
    return this.write('updateAppVersion', version);
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
    return this.write('insertEndpoint', endpoint, metadata, token).catch((err: unknown) =>
      mapUniqueViolation(err, {
        'endpoints.endpoint_id': () => errors.endpointIdTaken(endpoint.endpointId),
        'tokens.application_name, tokens.token_hash': () => errors.tokenTaken(),
      }),
    );
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
    return this.write('deleteEndpoint', endpointId);
  }

  // --- metadata ------------------------------------------------------------

  getMetadata(endpointId: string): Promise<Metadata | undefined> {
    return this.read((s) => {
      const row = s.getMetadataDoc.get(endpointId) as { metadata: string } | undefined;
      return row && (JSON.parse(row.metadata) as Metadata);
    });
  }

  changeMetadata(endpointId: string, change: MetadataChange, at: Iso): Promise<Metadata | undefined> {
    // The writer reads the document inside the batch transaction, so concurrent merges never lose keys.
    return this.write('changeMetadata', endpointId, change, at);
  }

  metadataKeysOfApplication(applicationName: string): Promise<string[]> {
    return this.read((s) => (s.metadataKeysOfApplication.all({ app: applicationName }) as Array<{ key: string }>).map((r) => r.key));
  }

  // --- tokens ----------------------------------------------------------------

  insertToken(token: TokenRecord): Promise<void> {
    return this.write('insertToken', token).catch((err: unknown) =>
      mapUniqueViolation(err, { 'tokens.application_name, tokens.token_hash': () => errors.tokenTaken() }),
    );
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
    return this.write('updateTokenStatus', tokenId, status, at);
  }

  // --- connectivity (9/ELCE) ----------------------------------------------------

  recordConnectivity(endpointId: string, connected: boolean, at: Iso, nodeId?: string): Promise<void> {
    return this.write('recordConnectivity', endpointId, connected, at, nodeId);
  }

  recordSeen(endpointId: string, at: Iso): Promise<void> {
    try {
      // Called for every device message: a batch writes each endpoint's latest time once.
      return this.requireWriter().recordSeen(endpointId, at);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  resetConnectivity(at: Iso): Promise<number> {
    return this.write('resetConnectivity', at);
  }

  disconnectNode(nodeId: string, at: Iso): Promise<Array<{ endpointId: string; applicationName: string }>> {
    return this.write('disconnectNode', nodeId, at);
  }

  // --- settings --------------------------------------------------------------------

  getSetting(key: string): Promise<JsonValue | undefined> {
    return this.read((s) => {
      const row = s.getSetting.get(key) as { value: string } | undefined;
      return row && (JSON.parse(row.value) as JsonValue);
    });
  }

  putSetting(key: string, value: JsonValue): Promise<void> {
    return this.write('putSetting', key, value);
  }

  deleteSetting(key: string): Promise<boolean> {
    return this.write('deleteSetting', key);
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

  private write<K extends WriteOpName>(op: K, ...args: Parameters<WriteOps[K]>): Promise<ReturnType<WriteOps[K]>> {
    try {
      return this.requireWriter().enqueue(op, ...args);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private requireWriter(): WriterThread {
    this.assertOpen();
    if (!this.writer || !this.statements) throw errors.unavailable(new Error('SQLite storage used before init()'));
    return this.writer;
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
      statement = this.db!.prepare<unknown[], unknown>(sql);
      this.queryCache.set(sql, statement);
    }
    return statement;
  }
}

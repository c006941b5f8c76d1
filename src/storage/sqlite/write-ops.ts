import type { Database } from 'better-sqlite3';
import type { AppVersion, Application, EndpointRecord, Iso, JsonValue, Metadata, MetadataChange, TokenRecord, TokenStatus } from '../../core/types.js';
import { applyChange, endpointSearchText, indexRowOf } from '../rows/metadata.js';
import { tokenParams } from '../rows/registry.js';
import { type Statements, prepareStatements } from './statements.js';
import { type TimeSeriesWriteOps, createTimeSeriesWriteOps } from './time-series/write-ops.js';

/**
 * Every write of SqliteStorage, as run by the writer thread (write-worker.ts) inside a group-commit
 * transaction. Each takes plain (structured-cloneable) arguments and reads the state it changes
 * inside the transaction, so a failed batch can run it again on its own. Errors are SQLite's own;
 * the calling thread maps unique-key violations to the TetherErrors of the Storage contract.
 */
export function createWriteOps(db: Database) {
  const s = prepareStatements(db);
  const docs = new MetadataDocs(s);
  // Time series share the writer thread and its group commit (time-series/write-ops.ts).
  const timeSeries = createTimeSeriesWriteOps(db);
  const ops: WriteOps = { ...writeOps(s, docs), ...timeSeries.ops };

  /** When the oldest search row still queued was queued (Date.now()), if any is. */
  let searchQueuedSince: number | undefined;

  return {
    ops,
    /**
     * Runs one write. Writes that may touch an endpoint row other than through its metadata
     * document first write out the documents the batch changed so far, so they see them.
     */
    run(op: WriteOpName, args: unknown[]): unknown {
      if (op === 'recordSeen') return docs.seen(args[0] as string, args[1] as Iso);
      if (op !== 'changeMetadata') docs.flush();
      return (ops[op] as (...a: unknown[]) => unknown)(...args);
    },
    /**
     * Just before COMMIT: the batch's metadata documents; the search index rows they queued are
     * applied once the oldest has waited SEARCH_INDEX_LAG_MS. Until then searches read them from
     * the queue (search-match.ts), and a value that changes many times meanwhile (a counter
     * reported as metadata) is indexed once, not once per commit.
     */
    beforeCommit(now = Date.now()): void {
      docs.flush();
      if (searchQueuedSince === undefined && s.hasPendingSearchRows.get()) searchQueuedSince = now;
      if (searchQueuedSince !== undefined && now - searchQueuedSince >= SEARCH_INDEX_LAG_MS) {
        flushSearchIndex(s);
        searchQueuedSince = undefined;
      }
      timeSeries.beforeCommit();
    },
    /** Applies every queued search row now (in a transaction the caller opened). */
    flushSearchIndex(): void {
      flushSearchIndex(s);
      searchQueuedSince = undefined;
    },
    /** Milliseconds until queued search rows are due (0: now), or undefined when none is queued. */
    searchIndexDueIn(now = Date.now()): number | undefined {
      return searchQueuedSince === undefined ? undefined : Math.max(0, searchQueuedSince + SEARCH_INDEX_LAG_MS - now);
    },
    /** The batch rolled back: forget what it had read. */
    discard(): void {
      docs.clear();
      timeSeries.discard();
    },
  };
}

function writeOps(s: Statements, docs: MetadataDocs) {
  return {
    insertApplication(app: Application): void {
      s.insertApplication.run(app.name, app.description, app.createdDate);
    },
    // Foreign keys cascade to versions, endpoints, their metadata and tokens.
    deleteApplication: (name: string): boolean => s.deleteApplication.run(name).changes > 0,
    insertAppVersion(version: AppVersion): void {
      s.insertAppVersion.run(
        version.name,
        version.applicationName,
        version.registeredDate,
        JSON.stringify(version.extensions),
        JSON.stringify(version.metadataKeyAccess),
      );
    },
    updateAppVersion(version: AppVersion): void {
      s.updateAppVersion.run(JSON.stringify(version.extensions), JSON.stringify(version.metadataKeyAccess), version.name);
    },
    insertEndpoint(endpoint: EndpointRecord, metadata: Metadata, token: TokenRecord | undefined): void {
      const { lastInsertRowid } = s.insertEndpoint.run({
        endpoint_id: endpoint.endpointId,
        application_name: endpoint.applicationName,
        app_version_name: endpoint.appVersionName,
        created_date: endpoint.createdDate,
        metadata_updated_date: endpoint.metadataUpdatedDate,
        connected: endpoint.connected ? 1 : 0,
        connectivity_ts: endpoint.connectivityTs,
        last_connected_date: endpoint.lastConnectedDate,
        last_disconnected_date: endpoint.lastDisconnectedDate,
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
    },
    // Foreign keys cascade to metadata rows and tokens.
    deleteEndpoint: (endpointId: string): boolean => s.deleteEndpoint.run(endpointId).changes > 0,
    changeMetadata: (endpointId: string, change: MetadataChange, at: Iso): Metadata | undefined => docs.change(endpointId, change, at),
    insertToken(token: TokenRecord): void {
      s.insertToken.run(tokenParams(token));
    },
    updateTokenStatus(tokenId: string, status: TokenStatus, at: Iso): void {
      s.updateTokenStatus.run(status, at, tokenId);
    },
    recordConnectivity(endpointId: string, connected: boolean, at: Iso, nodeId?: string): void {
      (connected ? s.recordConnected : s.recordDisconnected).run({ at, id: endpointId, node: nodeId ?? null });
    },
    recordSeen(endpointId: string, at: Iso): void {
      s.recordSeen.run(at, endpointId);
    },
    resetConnectivity: (at: Iso): number => s.resetConnectivity.run({ at }).changes,
    disconnectNode: (nodeId: string, at: Iso): Array<{ endpointId: string; applicationName: string }> =>
      (s.disconnectNode.all({ at, node: nodeId }) as Array<{ endpoint_id: string; application_name: string }>).map((r) => ({
        endpointId: r.endpoint_id,
        applicationName: r.application_name,
      })),
    putSetting(key: string, value: JsonValue): void {
      s.putSetting.run(key, JSON.stringify(value));
    },
    deleteSetting: (key: string): boolean => s.deleteSetting.run(key).changes > 0,
  };
}

export type WriteOps = ReturnType<typeof writeOps> & TimeSeriesWriteOps;
export type WriteOpName = keyof WriteOps;

/**
 * How long a search row may wait in endpoint_search_pending. Applying the queue costs about as much
 * for one row as for hundreds (FTS5 writes a segment per flush), and a device reporting a changing
 * value as metadata queues the same row again and again: once a second, not once per commit.
 */
export const SEARCH_INDEX_LAG_MS = 1000;

/** Applies the search index changes triggers queued (see schema.ts), in one go. */
export function flushSearchIndex(s: Statements): void {
  if (!s.hasPendingSearchRows.get()) return;
  s.searchDeletePending.run();
  s.searchInsertPending.run();
  s.clearPendingSearchRows.run();
}

interface Doc {
  seq: number;
  applicationName: string;
  /** As stored when the batch first read it. */
  stored: Metadata;
  metadata: Metadata;
  at: Iso;
  /** Keys some change of the batch created, updated or removed. */
  touched: Set<string>;
}

/**
 * The metadata documents a batch changes, each read and parsed once and written once at the end of
 * the batch however many changes it got (a device pipelining updates sends several per commit).
 */
class MetadataDocs {
  private readonly docs = new Map<string, Doc>();
  /** lastSeen per endpoint, written with its document when the batch changed that too (one UPDATE). */
  private readonly lastSeen = new Map<string, Iso>();

  constructor(private readonly s: Statements) {}

  change(endpointId: string, change: MetadataChange, at: Iso): Metadata | undefined {
    let doc = this.docs.get(endpointId);
    if (!doc) {
      const row = this.s.getMetadataDoc.get(endpointId) as { seq: number; application_name: string; metadata: string } | undefined;
      if (!row) return undefined;
      const stored = JSON.parse(row.metadata) as Metadata;
      doc = { seq: row.seq, applicationName: row.application_name, stored, metadata: stored, at, touched: new Set() };
      this.docs.set(endpointId, doc);
    }
    const applied = applyChange(doc.metadata, change);
    for (const key of applied.upserted) doc.touched.add(key);
    for (const key of applied.removed) doc.touched.add(key);
    doc.metadata = applied.metadata;
    doc.at = at;
    return applied.metadata;
  }

  seen(endpointId: string, at: Iso): void {
    const known = this.lastSeen.get(endpointId);
    // ISO strings order like the times they name.
    if (known === undefined || at > known) this.lastSeen.set(endpointId, at);
  }

  flush(): void {
    const s = this.s;
    for (const [endpointId, doc] of this.docs) {
      const { metadata } = doc;
      const seenAt = this.lastSeen.get(endpointId);
      if (seenAt === undefined) s.updateMetadataDoc.run(JSON.stringify(metadata), endpointSearchText(endpointId, metadata), doc.at, doc.seq);
      else {
        s.updateMetadataDocSeen.run(JSON.stringify(metadata), endpointSearchText(endpointId, metadata), doc.at, seenAt, doc.seq);
        this.lastSeen.delete(endpointId);
      }
      for (const key of doc.touched) {
        if (Object.hasOwn(metadata, key)) {
          const index = indexRowOf(metadata[key]!);
          s.upsertMetadataKey.run(doc.seq, key, doc.applicationName, index.canon, index.sortValue, index.searchText);
        } else if (Object.hasOwn(doc.stored, key)) {
          s.deleteMetadataKey.run(doc.seq, key);
        }
      }
    }
    this.docs.clear();
    for (const [endpointId, at] of this.lastSeen) s.recordSeen.run(at, endpointId);
    this.lastSeen.clear();
  }

  clear(): void {
    this.docs.clear();
    this.lastSeen.clear();
  }
}

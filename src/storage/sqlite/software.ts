import type { Database as Db, Statement } from 'better-sqlite3';
import type { EndpointSoftware } from '../../core/software.js';
import type { Page } from '../../core/types.js';
import type { SoftwareHistoryEntry, SoftwareOffer, SoftwareReport, SoftwareStorage, StoredSoftware } from '../software.js';
import {
  ENDPOINT_COLUMNS,
  type EndpointRow,
  HISTORY_PER_ENDPOINT,
  type HistoryRow,
  OFFER_COLUMNS,
  type OfferRow,
  SOFTWARE_COLUMNS,
  type SoftwareRow,
  applyReport,
  endpointParams,
  softwareParams,
  toEndpointSoftware,
  toHistory,
  toOffer,
  toSoftware,
} from '../software-rows.js';
import type { SynchronousMode } from './connection.js';
import { OwnFileStore, openOwnFileStore } from './own-file-store.js';

/**
 * Schema of software.db. A file of its own beside tether.db and control.db: a rollout's offers and
 * its fleet's reports commit here without waiting for (or holding up) the other writers.
 * Append only, like schema.ts.
 */
const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE software (
    application_name TEXT NOT NULL,
    version          TEXT NOT NULL,
    upgradable_from  TEXT NOT NULL,
    specification    TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    rollout_strategy TEXT NOT NULL,
    filters          TEXT NOT NULL,
    created_date     TEXT NOT NULL,
    updated_date     TEXT NOT NULL,
    PRIMARY KEY (application_name, version)
  ) WITHOUT ROWID;

  CREATE TABLE endpoint_software (
    endpoint_id      TEXT PRIMARY KEY,
    application_name TEXT NOT NULL,
    version          TEXT,
    reported_at      TEXT,
    failed_version   TEXT,
    failure_code     INTEGER,
    failure_reason   TEXT,
    failed_at        TEXT
  ) WITHOUT ROWID;
  CREATE INDEX endpoint_software_by_application ON endpoint_software(application_name);

  CREATE TABLE software_reports (
    seq              INTEGER PRIMARY KEY,
    endpoint_id      TEXT NOT NULL,
    application_name TEXT NOT NULL,
    version          TEXT NOT NULL,
    status_code      INTEGER NOT NULL,
    reason_phrase    TEXT,
    at               TEXT NOT NULL
  );
  CREATE INDEX software_reports_by_endpoint ON software_reports(endpoint_id, seq);
  CREATE INDEX software_reports_by_application ON software_reports(application_name);

  CREATE TABLE software_offers (
    endpoint_id      TEXT PRIMARY KEY,
    application_name TEXT NOT NULL,
    version          TEXT NOT NULL,
    rollout_id       TEXT,
    offered_at       TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX software_offers_by_rollout ON software_offers(rollout_id) WHERE rollout_id IS NOT NULL;
  CREATE INDEX software_offers_by_version ON software_offers(application_name, version);
  `,
];

export interface SqliteSoftwareOptions {
  file: string;
  synchronous?: SynchronousMode;
}

export function openSqliteSoftwareStorage(options: SqliteSoftwareOptions): Promise<SoftwareStorage> {
  return openOwnFileStore(options.file, options.synchronous, (db) => new SqliteSoftwareStorage(db));
}

/** A rollout's 10,000 applied reports arriving together cost a handful of commits (OwnFileStore's group commit). */
class SqliteSoftwareStorage extends OwnFileStore<ReturnType<typeof prepare>> implements SoftwareStorage {
  constructor(db: Db) {
    super(db, { fileName: 'software.db', migrations: MIGRATIONS, prepare });
  }

  // --- versions ----------------------------------------------------------------------------------

  async getSoftware(applicationName: string, version: string): Promise<StoredSoftware | undefined> {
    const row = this.st().getSoftware.get(applicationName, version);
    return row && toSoftware(row);
  }

  async listSoftware(applicationName: string): Promise<StoredSoftware[]> {
    return this.st().listSoftware.all(applicationName).map(toSoftware);
  }

  insertSoftware(record: StoredSoftware): Promise<'ok' | 'exists'> {
    return this.write(() => (this.st().insertSoftware.run(softwareParams(record)).changes > 0 ? 'ok' : 'exists'));
  }

  updateSoftware(record: StoredSoftware): Promise<boolean> {
    return this.write(() => this.st().updateSoftware.run(softwareParams(record)).changes > 0);
  }

  deleteSoftware(applicationName: string, version: string): Promise<boolean> {
    return this.write(() => {
      const s = this.st();
      s.deleteVersionOffers.run(applicationName, version);
      return s.deleteSoftware.run(applicationName, version).changes > 0;
    });
  }

  // --- what endpoints run --------------------------------------------------------------------------

  async getEndpointSoftware(endpointId: string): Promise<EndpointSoftware | undefined> {
    const row = this.st().getEndpoint.get(endpointId);
    return row && toEndpointSoftware(row);
  }

  async endpointVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>(endpointIds.map((id) => [id, null]));
    if (endpointIds.length === 0) return found;
    for (const row of this.st().versionsOf.all(JSON.stringify(endpointIds))) found.set(row.endpoint_id, row.version);
    return found;
  }

  recordReports(reports: readonly SoftwareReport[]): Promise<void> {
    if (reports.length === 0) return Promise.resolve();
    return this.write(() => {
      const s = this.st();
      for (const r of reports) {
        const row = s.getEndpoint.get(r.endpointId);
        s.putEndpoint.run(endpointParams(applyReport(row && toEndpointSoftware(row), r)));
        s.endOffer.run(r.endpointId, r.version);
        s.insertReport.run(r.endpointId, r.applicationName, r.version, r.statusCode, r.reasonPhrase, r.at);
        s.pruneReports.run(r.endpointId, r.endpointId, HISTORY_PER_ENDPOINT);
      }
    });
  }

  async history(endpointId: string, offset: number, limit: number): Promise<Page<SoftwareHistoryEntry>> {
    const s = this.st();
    return { totalElements: s.countReports.get(endpointId)!.n, content: s.reports.all(endpointId, limit, offset).map(toHistory) };
  }

  // --- offers --------------------------------------------------------------------------------------

  putOffers(offers: readonly SoftwareOffer[]): Promise<void> {
    if (offers.length === 0) return Promise.resolve();
    return this.write(() => {
      const s = this.st();
      for (const o of offers) s.putOffer.run(o.endpointId, o.applicationName, o.version, o.rolloutId, o.offeredAt);
    });
  }

  async getOffer(endpointId: string): Promise<SoftwareOffer | undefined> {
    const row = this.st().getOffer.get(endpointId);
    return row && toOffer(row);
  }

  withdrawOffers(rolloutId: string, endpointIds?: readonly string[]): Promise<number> {
    return this.write(() => {
      const s = this.st();
      if (endpointIds === undefined) return s.withdrawAll.run(rolloutId).changes;
      return endpointIds.length === 0 ? 0 : s.withdrawSome.run(rolloutId, JSON.stringify(endpointIds)).changes;
    });
  }

  // --- cleanup -------------------------------------------------------------------------------------

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.write(() => {
      const s = this.st();
      s.deleteEndpointState.run(endpointId);
      s.deleteEndpointReports.run(endpointId);
      s.deleteEndpointOffer.run(endpointId);
    });
  }

  deleteApplication(applicationName: string): Promise<void> {
    return this.write(() => {
      const s = this.st();
      for (const table of ['software', 'endpoint_software', 'software_reports', 'software_offers'] as const) s.deleteApplication[table].run(applicationName);
    });
  }
}

function prepare(db: Db) {
  return {
    getSoftware: db.prepare(`SELECT ${SOFTWARE_COLUMNS} FROM software WHERE application_name = ? AND version = ?`) as Statement<[string, string], SoftwareRow>,
    listSoftware: db.prepare(`SELECT ${SOFTWARE_COLUMNS} FROM software WHERE application_name = ?`) as Statement<[string], SoftwareRow>,
    insertSoftware: db.prepare(
      `INSERT INTO software (${SOFTWARE_COLUMNS}) VALUES (@application_name, @version, @upgradable_from, @specification, @metadata, @rollout_strategy, @filters, @created_date, @updated_date)
       ON CONFLICT (application_name, version) DO NOTHING`,
    ),
    updateSoftware: db.prepare(
      `UPDATE software SET upgradable_from = @upgradable_from, specification = @specification, metadata = @metadata, rollout_strategy = @rollout_strategy,
         filters = @filters, updated_date = @updated_date
       WHERE application_name = @application_name AND version = @version`,
    ),
    deleteSoftware: db.prepare('DELETE FROM software WHERE application_name = ? AND version = ?'),
    deleteVersionOffers: db.prepare('DELETE FROM software_offers WHERE application_name = ? AND version = ?'),
    getEndpoint: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM endpoint_software WHERE endpoint_id = ?`) as Statement<[string], EndpointRow>,
    versionsOf: db.prepare('SELECT endpoint_id, version FROM endpoint_software WHERE endpoint_id IN (SELECT value FROM json_each(?))') as Statement<
      [string],
      { endpoint_id: string; version: string | null }
    >,
    // What a report makes of the state is decided once, in applyReport (software-rows.ts).
    putEndpoint: db.prepare(
      `INSERT OR REPLACE INTO endpoint_software (${ENDPOINT_COLUMNS})
       VALUES (@endpoint_id, @application_name, @version, @reported_at, @failed_version, @failure_code, @failure_reason, @failed_at)`,
    ),
    endOffer: db.prepare('DELETE FROM software_offers WHERE endpoint_id = ? AND version = ?'),
    insertReport: db.prepare('INSERT INTO software_reports (endpoint_id, application_name, version, status_code, reason_phrase, at) VALUES (?, ?, ?, ?, ?, ?)'),
    pruneReports: db.prepare(
      'DELETE FROM software_reports WHERE endpoint_id = ? AND seq <= (SELECT seq FROM software_reports WHERE endpoint_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
    ),
    reports: db.prepare('SELECT version, status_code, reason_phrase, at FROM software_reports WHERE endpoint_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?') as Statement<
      [string, number, number],
      HistoryRow
    >,
    countReports: db.prepare('SELECT count(*) AS n FROM software_reports WHERE endpoint_id = ?') as Statement<[string], { n: number }>,
    putOffer: db.prepare(
      `INSERT INTO software_offers (${OFFER_COLUMNS}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (endpoint_id) DO UPDATE SET application_name = excluded.application_name, version = excluded.version, rollout_id = excluded.rollout_id, offered_at = excluded.offered_at`,
    ),
    getOffer: db.prepare(`SELECT ${OFFER_COLUMNS} FROM software_offers WHERE endpoint_id = ?`) as Statement<[string], OfferRow>,
    withdrawAll: db.prepare('DELETE FROM software_offers WHERE rollout_id = ?'),
    withdrawSome: db.prepare('DELETE FROM software_offers WHERE rollout_id = ? AND endpoint_id IN (SELECT value FROM json_each(?))'),
    deleteEndpointState: db.prepare('DELETE FROM endpoint_software WHERE endpoint_id = ?'),
    deleteEndpointReports: db.prepare('DELETE FROM software_reports WHERE endpoint_id = ?'),
    deleteEndpointOffer: db.prepare('DELETE FROM software_offers WHERE endpoint_id = ?'),
    deleteApplication: {
      software: db.prepare('DELETE FROM software WHERE application_name = ?'),
      endpoint_software: db.prepare('DELETE FROM endpoint_software WHERE application_name = ?'),
      software_reports: db.prepare('DELETE FROM software_reports WHERE application_name = ?'),
      software_offers: db.prepare('DELETE FROM software_offers WHERE application_name = ?'),
    },
  };
}

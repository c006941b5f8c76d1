import { errors } from '../../core/errors.js';
import type { EndpointSoftware } from '../../core/software.js';
import type { Page } from '../../core/types.js';
import {
  ENDPOINT_COLUMNS,
  type EndpointRow,
  type HistoryRow,
  OFFER_COLUMNS,
  type OfferRow,
  SOFTWARE_COLUMNS,
  type SoftwareRow,
  softwareParams,
  toEndpointSoftware,
  toHistory,
  toOffer,
  toSoftware,
} from '../software-rows.js';
import type { SoftwareHistoryEntry, SoftwareOffer, SoftwareReport, SoftwareStorage, StoredSoftware } from '../software.js';
import type { PoolSettings } from './connection.js';
import { SOFTWARE_MIGRATIONS } from './software-schema.js';
import { SoftwareWriter } from './software-writes.js';
import { PoolStore, StorePool } from './store-pool.js';

/**
 * Software versions, endpoint states and offers in PostgreSQL, shared by every node: an offer made
 * through one node is delivered by whichever node holds the device's session, and its report is
 * seen by all. Its own small pool, as control.ts; what a rollout causes (offers, reports)
 * group-commits across callers (software-writes.ts).
 */
class PostgresSoftwareStorage extends PoolStore implements SoftwareStorage {
  private readonly writer: SoftwareWriter;
  private closing = false;

  constructor(db: StorePool) {
    super(db);
    this.writer = new SoftwareWriter(db);
  }

  override async close(): Promise<void> {
    // What devices reported before the close still commits.
    this.closing = true;
    await this.writer.flush();
    await super.close();
  }

  // --- versions ----------------------------------------------------------------------------------

  async getSoftware(applicationName: string, version: string): Promise<StoredSoftware | undefined> {
    const row = (await this.query<SoftwareRow>(`SELECT ${SOFTWARE_COLUMNS} FROM software WHERE application_name = $1 AND version = $2`, [applicationName, version])).rows[0];
    return row && toSoftware(row);
  }

  async listSoftware(applicationName: string): Promise<StoredSoftware[]> {
    return (await this.query<SoftwareRow>(`SELECT ${SOFTWARE_COLUMNS} FROM software WHERE application_name = $1`, [applicationName])).rows.map(toSoftware);
  }

  async insertSoftware(record: StoredSoftware): Promise<'ok' | 'exists'> {
    const p = softwareParams(record);
    const n = await this.changed(
      `INSERT INTO software (${SOFTWARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (application_name, version) DO NOTHING`,
      [p.application_name, p.version, p.upgradable_from, p.specification, p.metadata, p.rollout_strategy, p.filters, p.created_date, p.updated_date],
    );
    return n > 0 ? 'ok' : 'exists';
  }

  async updateSoftware(record: StoredSoftware): Promise<boolean> {
    const p = softwareParams(record);
    const n = await this.changed(
      `UPDATE software SET upgradable_from = $3, specification = $4, metadata = $5, rollout_strategy = $6, filters = $7, updated_date = $8
       WHERE application_name = $1 AND version = $2`,
      [p.application_name, p.version, p.upgradable_from, p.specification, p.metadata, p.rollout_strategy, p.filters, p.updated_date],
    );
    return n > 0;
  }

  deleteSoftware(applicationName: string, version: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      await client.query('DELETE FROM software_offers WHERE application_name = $1 AND version = $2', [applicationName, version]);
      return ((await client.query('DELETE FROM software WHERE application_name = $1 AND version = $2', [applicationName, version])).rowCount ?? 0) > 0;
    });
  }

  // --- what endpoints run --------------------------------------------------------------------------

  async getEndpointSoftware(endpointId: string): Promise<EndpointSoftware | undefined> {
    const row = (await this.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoint_software WHERE endpoint_id = $1`, [endpointId])).rows[0];
    return row && toEndpointSoftware(row);
  }

  async endpointVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>(endpointIds.map((id) => [id, null]));
    if (endpointIds.length === 0) return found;
    const { rows } = await this.query<{ endpoint_id: string; version: string | null }>('SELECT endpoint_id, version FROM endpoint_software WHERE endpoint_id = ANY($1::text[])', [
      endpointIds,
    ]);
    for (const row of rows) found.set(row.endpoint_id, row.version);
    return found;
  }

  recordReports(reports: readonly SoftwareReport[]): Promise<void> {
    if (this.closing) return Promise.reject(errors.unavailable());
    return reports.length === 0 ? Promise.resolve() : this.writer.reports(reports);
  }

  async history(endpointId: string, offset: number, limit: number): Promise<Page<SoftwareHistoryEntry>> {
    const [count, page] = await Promise.all([
      this.query<{ n: string }>('SELECT count(*) AS n FROM software_reports WHERE endpoint_id = $1', [endpointId]),
      this.query<HistoryRow>('SELECT version, status_code, reason_phrase, at FROM software_reports WHERE endpoint_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3', [endpointId, limit, offset]),
    ]);
    return { totalElements: Number(count.rows[0]!.n), content: page.rows.map(toHistory) };
  }

  // --- offers --------------------------------------------------------------------------------------

  putOffers(offers: readonly SoftwareOffer[]): Promise<void> {
    if (this.closing) return Promise.reject(errors.unavailable());
    return offers.length === 0 ? Promise.resolve() : this.writer.offers(offers);
  }

  async getOffer(endpointId: string): Promise<SoftwareOffer | undefined> {
    const row = (await this.query<OfferRow>(`SELECT ${OFFER_COLUMNS} FROM software_offers WHERE endpoint_id = $1`, [endpointId])).rows[0];
    return row && toOffer(row);
  }

  async withdrawOffers(rolloutId: string, endpointIds?: readonly string[]): Promise<number> {
    // Offers queued before the withdrawal commit first: a cancel never leaves one behind.
    await this.writer.flush();
    if (endpointIds === undefined) return this.changed('DELETE FROM software_offers WHERE rollout_id = $1', [rolloutId]);
    if (endpointIds.length === 0) return 0;
    return this.changed('DELETE FROM software_offers WHERE rollout_id = $1 AND endpoint_id = ANY($2::text[])', [rolloutId, endpointIds]);
  }

  // --- cleanup -------------------------------------------------------------------------------------

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.db.transaction(async (client) => {
      for (const table of ['endpoint_software', 'software_reports', 'software_offers']) await client.query(`DELETE FROM ${table} WHERE endpoint_id = $1`, [endpointId]);
    });
  }

  deleteApplication(applicationName: string): Promise<void> {
    return this.db.transaction(async (client) => {
      for (const table of ['software', 'endpoint_software', 'software_reports', 'software_offers']) await client.query(`DELETE FROM ${table} WHERE application_name = $1`, [applicationName]);
    });
  }
}

/** Opens the software tables in the database at `url`, creating or migrating them. */
export async function openPostgresSoftwareStorage(options: PoolSettings): Promise<SoftwareStorage> {
  return new PostgresSoftwareStorage(await StorePool.open({ ...options, maxConnections: options.maxConnections ?? 4 }, SOFTWARE_MIGRATIONS));
}

import type { EndpointSoftware, SoftwareRecord } from '../core/software.js';
import type { Iso, Page } from '../core/types.js';

/** A version as stored: the package is PackageStorage's (src/storage/packages.ts), joined by the service. */
export type StoredSoftware = Omit<SoftwareRecord, 'package'>;

/** What a device said on `cmx_ota` `applied` (or implied by naming its version in a config request). */
export interface SoftwareReport {
  endpointId: string;
  applicationName: string;
  version: string;
  /** 2xx: the device runs `version` now; anything else: updating to `version` failed. */
  statusCode: number;
  reasonPhrase: string | null;
  at: Iso;
}

/** One entry of an endpoint's report history, newest first. */
export interface SoftwareHistoryEntry {
  version: string;
  statusCode: number;
  reasonPhrase: string | null;
  at: Iso;
}

/**
 * A version offered to one endpoint, by a rollout (`rolloutId`) or by hand (null). Open until the
 * device reports that version (applied or failed), a newer offer replaces it, or it is withdrawn.
 */
export interface SoftwareOffer {
  endpointId: string;
  applicationName: string;
  version: string;
  rolloutId: string | null;
  offeredAt: Iso;
}

/**
 * Software versions (Kaa OTAO), what each endpoint runs with its report history, and the open
 * offers rollouts made. Kept apart from `Storage` like `ControlStorage`: SQLite keeps it in
 * software.db with a group-committing writer of its own, so a 10,000-device rollout's offers and
 * applied reports commit in a few transactions. Every backend passes
 * test/storage/software-conformance.ts.
 *
 * Durability: a returned promise resolves only after the change is committed.
 * Calls after `close()` reject with UNAVAILABLE.
 */
export interface SoftwareStorage {
  readonly kind: string;
  init(): Promise<void>;
  close(): Promise<void>;

  // --- versions --------------------------------------------------------------------------------
  getSoftware(applicationName: string, version: string): Promise<StoredSoftware | undefined>;
  /** Every version of the application, in no particular order (semver order is the service's). */
  listSoftware(applicationName: string): Promise<StoredSoftware[]>;
  /** `exists` when the application already has that version; nothing changes then. */
  insertSoftware(record: StoredSoftware): Promise<'ok' | 'exists'>;
  /** Replaces everything but the creation date; false when there is no such version. */
  updateSoftware(record: StoredSoftware): Promise<boolean>;
  /** Also ends the version's open offers. False when there was no such version. */
  deleteSoftware(applicationName: string, version: string): Promise<boolean>;

  // --- what endpoints run ----------------------------------------------------------------------
  getEndpointSoftware(endpointId: string): Promise<EndpointSoftware | undefined>;
  /** The version each endpoint last reported running (null before its first successful report). */
  endpointVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>>;
  /**
   * Applies reports in order: a 2xx report sets the endpoint's version and clears its last failure,
   * any other sets the last failure and keeps the version. Either ends the endpoint's open offer of
   * that version. Each report joins the endpoint's history.
   */
  recordReports(reports: readonly SoftwareReport[]): Promise<void>;
  history(endpointId: string, offset: number, limit: number): Promise<Page<SoftwareHistoryEntry>>;

  // --- offers ----------------------------------------------------------------------------------
  /** Stores offers, each replacing the endpoint's open offer if it has one. */
  putOffers(offers: readonly SoftwareOffer[]): Promise<void>;
  getOffer(endpointId: string): Promise<SoftwareOffer | undefined>;
  /** Ends the rollout's open offers (of those endpoints only, when given); returns how many. */
  withdrawOffers(rolloutId: string, endpointIds?: readonly string[]): Promise<number>;

  // --- cleanup ---------------------------------------------------------------------------------
  /** The endpoint is gone: its state, history and offer go too. */
  deleteEndpoint(endpointId: string): Promise<void>;
  /** The application is gone: its versions, its endpoints' states, histories and offers go too. */
  deleteApplication(applicationName: string): Promise<void>;
}

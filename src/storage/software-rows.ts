/** Rows of the software tables as both SQL dialects return them, and their mapping to domain records. */
import type { EndpointSoftware, RolloutStrategy, SoftwareFilter } from '../core/software.js';
import type { JsonValue } from '../core/types.js';
import type { SoftwareHistoryEntry, SoftwareOffer, SoftwareReport, StoredSoftware } from './software.js';

export const SOFTWARE_COLUMNS = 'application_name, version, upgradable_from, specification, metadata, rollout_strategy, filters, created_date, updated_date';
export const ENDPOINT_COLUMNS = 'endpoint_id, application_name, version, reported_at, failed_version, failure_code, failure_reason, failed_at';
export const OFFER_COLUMNS = 'endpoint_id, application_name, version, rollout_id, offered_at';

/** Reports kept per endpoint: the newest ones; older ones make room as new ones arrive. */
export const HISTORY_PER_ENDPOINT = 100;

export interface SoftwareRow {
  application_name: string;
  version: string;
  upgradable_from: string;
  specification: string;
  metadata: string;
  rollout_strategy: string;
  filters: string;
  created_date: string;
  updated_date: string;
}

export interface EndpointRow {
  endpoint_id: string;
  application_name: string;
  version: string | null;
  reported_at: string | null;
  failed_version: string | null;
  failure_code: number | string | null;
  failure_reason: string | null;
  failed_at: string | null;
}

export interface OfferRow {
  endpoint_id: string;
  application_name: string;
  version: string;
  rollout_id: string | null;
  offered_at: string;
}

export interface HistoryRow {
  version: string;
  status_code: number | string;
  reason_phrase: string | null;
  at: string;
}

export function softwareParams(r: StoredSoftware) {
  return {
    application_name: r.applicationName,
    version: r.version,
    upgradable_from: JSON.stringify(r.upgradableFrom),
    specification: JSON.stringify(r.specification),
    metadata: JSON.stringify(r.metadata),
    rollout_strategy: r.rolloutStrategy,
    filters: JSON.stringify(r.filters),
    created_date: r.createdDate,
    updated_date: r.updatedDate,
  };
}

export function toSoftware(row: SoftwareRow): StoredSoftware {
  return {
    applicationName: row.application_name,
    version: row.version,
    upgradableFrom: JSON.parse(row.upgradable_from) as string[],
    specification: JSON.parse(row.specification) as JsonValue,
    metadata: JSON.parse(row.metadata) as JsonValue,
    rolloutStrategy: row.rollout_strategy as RolloutStrategy,
    filters: JSON.parse(row.filters) as SoftwareFilter[],
    createdDate: row.created_date,
    updatedDate: row.updated_date,
  };
}

export function toEndpointSoftware(row: EndpointRow): EndpointSoftware {
  return {
    endpointId: row.endpoint_id,
    applicationName: row.application_name,
    version: row.version,
    reportedAt: row.reported_at,
    lastFailure:
      row.failed_version === null
        ? null
        : { version: row.failed_version, statusCode: Number(row.failure_code), reasonPhrase: row.failure_reason, at: row.failed_at ?? '' },
  };
}

export function toOffer(row: OfferRow): SoftwareOffer {
  return { endpointId: row.endpoint_id, applicationName: row.application_name, version: row.version, rolloutId: row.rollout_id, offeredAt: row.offered_at };
}

export function toHistory(row: HistoryRow): SoftwareHistoryEntry {
  return { version: row.version, statusCode: Number(row.status_code), reasonPhrase: row.reason_phrase, at: row.at };
}

/** 7/CMP: a 2xx status is applied, anything else a failure. */
export function isSuccess(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300;
}

/**
 * What one report makes of an endpoint's state (both backends apply reports through this, in order).
 * A failure is kept as the last failure and leaves the version. A success of another version makes
 * it the version and clears the failure; a success of the version it already runs ("still on
 * 1.4.0", as a device says after restarting from a failed update) only dates the report and keeps
 * the failure, so a failed update is not offered again just because the device said where it is.
 */
export function applyReport(state: EndpointSoftware | undefined, r: SoftwareReport): EndpointSoftware {
  const base = state ?? { endpointId: r.endpointId, applicationName: r.applicationName, version: null, reportedAt: null, lastFailure: null };
  if (!isSuccess(r.statusCode)) {
    return { ...base, applicationName: r.applicationName, lastFailure: { version: r.version, statusCode: r.statusCode, reasonPhrase: r.reasonPhrase, at: r.at } };
  }
  const same = base.version === r.version;
  return { ...base, applicationName: r.applicationName, version: r.version, reportedAt: r.at, lastFailure: same ? base.lastFailure : null };
}

/** An endpoint's state as the row both dialects write. */
export function endpointParams(s: EndpointSoftware): EndpointRow {
  return {
    endpoint_id: s.endpointId,
    application_name: s.applicationName,
    version: s.version,
    reported_at: s.reportedAt,
    failed_version: s.lastFailure?.version ?? null,
    failure_code: s.lastFailure?.statusCode ?? null,
    failure_reason: s.lastFailure?.reasonPhrase ?? null,
    failed_at: s.lastFailure?.at ?? null,
  };
}

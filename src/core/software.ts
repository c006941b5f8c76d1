/**
 * Software updates over the air (Kaa OTAO, delivered on the 7/CMP instance `cmx_ota`): software
 * versions per application, what each endpoint runs, packages, and rollouts. Domain types shared
 * by storage, the services, the extension, the REST API, the CLI and the dashboard.
 */
import type { Iso, JsonValue } from './types.js';

/** The 7/CMP extension instance software versions travel on (Kaa's name, spoken by both official clients). */
export const CMX_OTA = 'cmx_ota';

/**
 * Kaa OTAO rollout strategy of a version, for devices that ask (pull):
 * `suspended` is offered to nobody, `targeted` to endpoints matching one of its filters (from the
 * filter's rollout date), `general` to every endpoint whose current version it is upgradable from.
 * A rollout (below) offers a version explicitly, at a rate, whatever the strategy.
 */
export type RolloutStrategy = 'suspended' | 'targeted' | 'general';

/** Kaa OTAO filter: which endpoints a `targeted` version reaches, from when. */
export interface SoftwareFilter {
  filterId: string;
  /** From when the filter's endpoints are offered the version; null: at once. */
  rolloutDate: Iso | null;
  /**
   * Tether's answer to what Kaa leaves open (what a filter ID selects): the endpoints matching this
   * Endpoint List search, in the parameters of GET /epr/api/v1/endpoints (and of the CEX batch
   * by-query route): `search`, `searchKeys`, `filter`, `metadata.<key>`, `connected`,
   * `applicationVersionName`, `endpointId`. Absent or `{}`: every endpoint of the application.
   */
  query?: EndpointFilterQuery;
}

/** An Endpoint List search kept as data: GET /epr/api/v1/endpoints parameters, lists as arrays. */
export interface EndpointFilterQuery {
  applicationVersionName?: string;
  endpointId?: string[];
  connected?: boolean;
  search?: string;
  searchKeys?: string[];
  filter?: string[];
  [metadataFilter: `metadata.${string}`]: string[] | undefined;
}

/** A file a version's devices download, hosted by Tether (see src/software/packages). */
export interface PackageInfo {
  fileName: string;
  contentType: string;
  size: number;
  /** Hex SHA-256 of the whole file, computed while it was uploaded. */
  sha256: string;
  uploadedAt: Iso;
}

/** Kaa OTAO software record: one version of an application's device software. */
export interface SoftwareRecord {
  applicationName: string;
  /** Semantic version (semver 2.0), unique within the application; the `configId` devices see. */
  version: string;
  /** Versions or semver ranges (`1.2.x`, `>=1.0.0 <2`) it upgrades; `*` any; `""` devices that never reported one. */
  upgradableFrom: string[];
  /** Free JSON the device interprets (7/CMP `config`); a hosted package adds `package` to what devices get. */
  specification: JsonValue;
  metadata: JsonValue;
  rolloutStrategy: RolloutStrategy;
  filters: SoftwareFilter[];
  package: PackageInfo | null;
  createdDate: Iso;
  updatedDate: Iso;
}

/** What an endpoint runs, as its device last reported on `cmx_ota` (7/CMP `applied`). */
export interface EndpointSoftware {
  endpointId: string;
  applicationName: string;
  /** The version the device last reported running; null before its first report. */
  version: string | null;
  reportedAt: Iso | null;
  /** The last failure the device reported (statusCode outside 2xx), if its last report was one. */
  lastFailure: { version: string; statusCode: number; reasonPhrase: string | null; at: Iso } | null;
}

/** Per device in a rollout (after AWS IoT Jobs' execution states). */
export type RolloutDeviceState = 'pending' | 'offered' | 'applied' | 'failed' | 'timed_out' | 'skipped';

/** A rollout's life: it stops itself (`aborted`) when its abort rule trips. */
export type RolloutState = 'running' | 'paused' | 'completed' | 'cancelled' | 'aborted';

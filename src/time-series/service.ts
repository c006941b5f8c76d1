import { createHash } from 'node:crypto';
import type { EventBus } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Applications, Registry } from '../core/services.js';
import type { AppVersion } from '../core/types.js';
import type { Aggregate, SeriesPoints, StoredPoint, TimeSeriesStorage } from '../storage/time-series.js';
import { AUTO_PREFIX, DEFAULT_RETENTION_DAYS, defaultExtraction, emptyDefinitions, normaliseDefinitions, valueNamesOf } from './definitions.js';
import type { AppDefinitions } from './definitions.js';
import { extractPoints } from './extract.js';
import { LivePublisher } from './live.js';
import { SeriesLimit } from './series-limit.js';

const DAY_MS = 86_400_000;
/**
 * Distinct series one 2/DCP batch may write. Extract-all makes a series of every numeric or boolean
 * field, so without a bound one device could create series (and their rows) as fast as it can send
 * new field names.
 */
export const MAX_SERIES_PER_BATCH = 1000;
const RETENTION_EVERY_MS = 10 * 60_000;
const COMPACT_EVERY_MS = 1000;
/**
 * Nodes sharing a database each cache the definitions; one node's change over REST reaches the
 * others when their copy is this old and they read it again.
 */
const DEFINITIONS_MAX_AGE_MS = 5000;

export interface TimeSeriesSettings {
  /** Retention of applications that set none (default 90 days). */
  retentionDays?: number;
  /** Definitions from the config file: replace the stored ones of these applications at start. */
  declared?: AppDefinitions[];
  /** Per-application retention from the config file, applied at start. */
  retentionByApp?: Record<string, number>;
  /** Background retention and compaction; tests turn them off and call the methods. Default true. */
  background?: boolean;
  /** Series one endpoint may have (default MAX_SERIES_PER_ENDPOINT, 1,000); tests lower it. */
  maxSeriesPerEndpoint?: number;
}

/** A read of data points: raw (at most `limit` per series) or, with `aggregate`, one point per interval. */
export interface SeriesRead {
  applicationName: string;
  endpointIds: readonly string[];
  series: readonly string[];
  /** Inclusive bounds, milliseconds since the epoch. */
  from: number;
  to: number;
  order: 'asc' | 'desc';
  limit: number;
  aggregate?: { fn: Aggregate; intervalMs: number };
}

export interface SeriesReadResult {
  rows: Array<{ endpointId: string; series: Record<string, StoredPoint[]> }>;
  /** A raw series had more than `limit` points in the range. */
  truncated: boolean;
}

export interface TimeSeriesDeps {
  storage: TimeSeriesStorage;
  bus: EventBus;
  applications: Applications;
  registry: Registry;
  clock?: Clock;
  logger?: Logger;
  settings?: TimeSeriesSettings;
}

/**
 * Kaa EPTS: definitions per application, extraction of data points from DCX samples, their storage,
 * the live event, retention and compaction in the background.
 */
export class TimeSeriesService {
  readonly storage: TimeSeriesStorage;
  private readonly definitions = new Map<string, { at: number; defs: Promise<AppDefinitions> }>();
  private readonly live: LivePublisher;
  private readonly seriesLimit: SeriesLimit;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retentionDays: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: () => void;
  private maintenance: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: TimeSeriesDeps) {
    this.storage = deps.storage;
    this.clock = deps.clock ?? systemClock;
    this.logger = (deps.logger ?? silentLogger).child({ component: 'time-series' });
    this.retentionDays = deps.settings?.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.live = new LivePublisher(deps.bus, this.clock, this.logger);
    this.seriesLimit = new SeriesLimit(this.storage, this.clock, deps.settings?.maxSeriesPerEndpoint);
    this.unsubscribe = deps.bus.subscribe((event) => {
      if (event.type === 'endpoint.deleted') {
        this.seriesLimit.forget(event.endpointId);
        this.storage.deleteEndpoint(event.endpointId).catch((err: unknown) => this.logger.warn({ err }, 'time series of a deleted endpoint not deleted'));
      }
    });
  }

  /** Applies the config file's definitions and starts the background work. */
  async start(): Promise<void> {
    for (const declared of this.deps.settings?.declared ?? []) await this.applyDeclared(declared);
    for (const [applicationName, retentionDays] of Object.entries(this.deps.settings?.retentionByApp ?? {})) {
      const defs = await this.getDefinitions(applicationName);
      if (defs.retentionDays === retentionDays) continue;
      const changed = { ...defs, retentionDays };
      await this.storage.putDefinitions(applicationName, toDoc(changed));
      this.cache(applicationName, Promise.resolve(changed));
    }
    if (this.deps.settings?.background === false) return;
    const retention = setTimeout(() => this.runRetention(), 5000);
    const retentionEvery = setInterval(() => this.runRetention(), RETENTION_EVERY_MS);
    const compact = setInterval(() => this.runCompaction(), COMPACT_EVERY_MS);
    for (const timer of [retention, retentionEvery, compact]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  /**
   * The rule between the config file and run-time edits (REST, dashboard): the file's definitions
   * of an application are applied when they differ from what the file said when last applied (the
   * first start with them included); until the file's block changes again, edits made at run time
   * are kept across restarts. Either way the log says which won. The fingerprint of what was applied
   * is kept under a key no application name can take (names match ^[a-z0-9_-]+$).
   */
  private async applyDeclared(declared: AppDefinitions): Promise<void> {
    const app = declared.applicationName;
    const doc = toDoc(declared);
    const fingerprint = createHash('sha256').update(JSON.stringify(doc)).digest('base64url');
    const markerKey = `@config-file/${app}`;
    const lastApplied = (await this.storage.getDefinitions(markerKey))?.['fingerprint'];
    const stored = await this.storage.getDefinitions(app);
    const differs = stored !== undefined && JSON.stringify(stored) !== JSON.stringify(doc);
    if (lastApplied === fingerprint && stored !== undefined) {
      if (differs) {
        this.logger.info(
          { applicationName: app },
          `time series definitions of ${app}: keeping the edits made at run time; the config file's kaa.applications.${app} block is unchanged since it was applied (change it there to replace them)`,
        );
      }
      return;
    }
    await this.storage.putDefinitions(app, doc);
    await this.storage.putDefinitions(markerKey, { fingerprint });
    this.cache(app, Promise.resolve(declared));
    if (differs) {
      this.logger.warn(
        { applicationName: app },
        `time series definitions of ${app}: replaced by the config file's kaa.applications.${app} block, which changed since it was last applied (edits made at run time are kept until the file's block changes)`,
      );
    }
  }

  async getDefinitions(applicationName: string): Promise<AppDefinitions> {
    const cached = this.definitions.get(applicationName);
    if (cached && this.clock.now() - cached.at < DEFINITIONS_MAX_AGE_MS) return cached.defs;
    const found = this.storage.getDefinitions(applicationName).then((doc) =>
      doc === undefined ? emptyDefinitions(applicationName, this.retentionDays) : normaliseDefinitions(applicationName, { retentionDays: this.retentionDays, ...doc }),
    );
    this.cache(applicationName, found);
    found.catch(() => {
      if (this.definitions.get(applicationName)?.defs === found) this.definitions.delete(applicationName);
    });
    return found;
  }

  private cache(applicationName: string, defs: Promise<AppDefinitions>): void {
    this.definitions.set(applicationName, { at: this.clock.now(), defs });
  }

  /** Replaces the definitions (REST). Rejects APPLICATION_NOT_FOUND or VALIDATION_FAILED. */
  async putDefinitions(applicationName: string, raw: unknown): Promise<AppDefinitions> {
    await this.deps.applications.getApplication(applicationName);
    const defs = normaliseDefinitions(applicationName, { retentionDays: this.retentionDays, ...(raw as object) });
    const versions = new Set((await this.deps.applications.listVersions(applicationName)).map((v) => v.name));
    const foreign = Object.keys(defs.versions).find((v) => !versions.has(v));
    if (foreign !== undefined) throw errors.validation(`versions.${foreign} is not a version of application ${JSON.stringify(applicationName)}`);
    await this.storage.putDefinitions(applicationName, toDoc(defs));
    this.cache(applicationName, Promise.resolve(defs));
    if ((this.deps.settings?.declared ?? []).some((d) => d.applicationName === applicationName)) {
      this.logger.info(
        { applicationName },
        `time series definitions of ${applicationName} changed at run time; they are kept across restarts until the config file's kaa.applications.${applicationName} block changes`,
      );
    }
    return defs;
  }

  /**
   * 2/DCP batch to data points, stored durably before it resolves. Resolves with the number of points.
   */
  async ingest(appVersion: AppVersion, endpointId: string, samples: readonly unknown[], receivedAt: number): Promise<number> {
    const defs = await this.getDefinitions(appVersion.applicationName);
    const extraction = defs.versions[appVersion.name] ?? defaultExtraction();
    const batch = extractPoints(endpointId, samples, defs, extraction, receivedAt);
    if (batch.length > MAX_SERIES_PER_BATCH) {
      throw errors.payloadInvalid(
        `a 2/DCP batch of at most ${MAX_SERIES_PER_BATCH} time series`,
        `its samples make ${batch.length} (extract-all makes a series of every numeric or boolean field); send fewer distinct fields`,
      );
    }
    return this.store(appVersion.applicationName, batch);
  }

  /** Points written over REST: every series must be defined or `auto~`. */
  async write(applicationName: string, batch: SeriesPoints[]): Promise<number> {
    await this.deps.applications.getApplication(applicationName);
    const defs = await this.getDefinitions(applicationName);
    const defined = new Set(defs.timeSeries.map((d) => d.name));
    const checked = new Set<string>();
    for (const group of batch) {
      if (!defined.has(group.series) && !group.series.startsWith(AUTO_PREFIX)) throw errors.timeSeriesNotDefined(applicationName, group.series);
      if (checked.has(group.endpointId)) continue;
      // Rejects ENDPOINT_NOT_FOUND for an endpoint that does not exist at all.
      const endpoint = await this.deps.registry.getEndpoint(group.endpointId, false);
      if (endpoint.applicationName !== applicationName) throw errors.endpointNotInApplication(group.endpointId, applicationName);
      checked.add(group.endpointId);
    }
    return this.store(applicationName, batch);
  }

  /** The latest point of each series per endpoint (every endpoint with data when none are named), up to `maxEndpoints`. */
  async last(applicationName: string, endpointIds: string[] | undefined, series: string[], before: number | undefined, maxEndpoints: number): Promise<Map<string, Map<string, StoredPoint>>> {
    return this.storage.last(applicationName, endpointIds, series, before, maxEndpoints);
  }

  /** Data points per endpoint and series, in the order asked for. */
  async read(query: SeriesRead): Promise<SeriesReadResult> {
    const { applicationName, from, to, order } = query;
    let truncated = false;
    const rows: SeriesReadResult['rows'] = [];
    for (const endpointId of query.endpointIds) {
      const bySeries: Record<string, StoredPoint[]> = {};
      for (const series of query.series) {
        const base = { applicationName, endpointId, series, from, to, order } as const;
        if (query.aggregate) {
          bySeries[series] = await this.storage.aggregate({ ...base, ...query.aggregate });
        } else {
          const found = await this.storage.range({ ...base, limit: query.limit });
          truncated ||= found.truncated;
          bySeries[series] = found.points;
        }
      }
      rows.push({ endpointId, series: bySeries });
    }
    return { rows, truncated };
  }

  /** Rejects APPLICATION_NOT_FOUND. */
  async requireApplication(applicationName: string): Promise<void> {
    await this.deps.applications.getApplication(applicationName);
  }

  async applicationNames(): Promise<string[]> {
    return (await this.deps.applications.listApplications()).map((a) => a.name);
  }

  /** EPTS config: defined series, then `auto~` series with data. */
  async configOf(applicationName: string): Promise<Array<{ name: string; values: string[] }>> {
    const defs = await this.getDefinitions(applicationName);
    const defined = defs.timeSeries.map((d) => ({ name: d.name, values: valueNamesOf(d) }));
    const names = new Set(defined.map((d) => d.name));
    const auto = (await this.storage.seriesNames(applicationName)).filter((n) => n.startsWith(AUTO_PREFIX) && !names.has(n));
    return [...defined, ...auto.map((name) => ({ name, values: ['value'] }))];
  }

  /** Deletes data older than each application's retention; resolves with the points deleted. */
  async enforceRetention(): Promise<number> {
    let deleted = 0;
    for (const applicationName of await this.storage.applications()) {
      const defs = await this.getDefinitions(applicationName);
      deleted += await this.storage.deleteBefore(applicationName, this.clock.now() - defs.retentionDays * DAY_MS);
    }
    return deleted;
  }

  /** Merges small chunks until none wait (bench and tests; the background does it a little at a time). */
  async compactAll(): Promise<void> {
    while (await this.storage.maintain()) {
      /* more waiting */
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const timer of this.timers) clearInterval(timer);
    this.live.flush();
    this.live.close();
    await this.maintenance.catch(() => undefined);
  }

  private async store(applicationName: string, batch: SeriesPoints[]): Promise<number> {
    let count = 0;
    for (const group of batch) count += group.points.length;
    if (count === 0) return 0;
    const remember = await this.seriesLimit.check(applicationName, batch);
    await this.storage.append(applicationName, batch);
    remember();
    this.live.stored(applicationName, batch);
    return count;
  }

  private runRetention(): void {
    if (this.closed) return;
    this.maintenance = this.maintenance
      .then(() => this.enforceRetention())
      .then((deleted) => {
        if (deleted > 0) this.logger.info({ deleted }, 'time series retention: old data points deleted');
      })
      .catch((err: unknown) => this.logger.warn({ err }, 'time series retention failed'));
  }

  private runCompaction(): void {
    if (this.closed) return;
    this.maintenance = this.maintenance
      .then(async () => {
        // A few rounds a tick at most: compaction shares the writer's transactions with ingest.
        for (let round = 0; round < 4 && !this.closed; round++) if (!(await this.storage.maintain())) break;
      })
      .catch((err: unknown) => this.logger.warn({ err }, 'time series compaction failed'));
  }
}

function toDoc(defs: AppDefinitions): Record<string, unknown> {
  const { applicationName: _name, ...doc } = defs;
  return doc as unknown as Record<string, unknown>;
}

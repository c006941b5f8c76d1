import type { EventBus, TetherEvent } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { configSentKey } from '../core/control.js';
import type { DeviceChannel, DeviceLink } from '../core/device-link.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Applications } from '../core/services.js';
import { CMX_OTA, type EndpointFilterQuery, type EndpointSoftware, type PackageInfo, type RolloutStrategy, type SoftwareFilter, type SoftwareRecord } from '../core/software.js';
import type { JsonValue, Page } from '../core/types.js';
import type { SoftwareHistoryEntry, SoftwareReport, SoftwareStorage, StoredSoftware } from '../storage/software.js';
import { ROLLOUT_STRATEGIES, isNewer, isStrictVersion, isUpgradable, newestFirst, upgradableFromProblem } from './versions.js';

/** What a device gets for a version with a hosted package (src/software/packages, PackageService). */
export interface DevicePackage {
  url: string;
  sha256: string;
  size: number;
  fileName: string;
}

/**
 * The part of PackageService this service uses, optional so that versions work without packages:
 * `describeForDevice` adds `package` to what devices get; `info` (if present) fills a record's
 * `package` for operators; `removeIfAny` (if present) removes it with its version.
 */
export interface PackageSource {
  describeForDevice(applicationName: string, version: string, baseUrl: string): Promise<DevicePackage | undefined>;
  info?(applicationName: string, version: string): Promise<PackageInfo | undefined>;
  /** A version goes: its package goes with it (nothing to remove is no error). */
  removeIfAny?(key: { applicationName: string; version: string }): Promise<boolean>;
}

/**
 * Targeted filters select endpoints with Endpoint List searches; parsing them belongs to the REST
 * layer (src/api/endpoint-query.ts), so the composition root hands this in.
 */
export interface EndpointFilters {
  /** Throws a VALIDATION_FAILED error saying what is wrong with the query. */
  check(query: EndpointFilterQuery): void;
  /** Which of `endpointIds` (of the application) the query matches. */
  matching(applicationName: string, query: EndpointFilterQuery, endpointIds: readonly string[]): Promise<Set<string>>;
}

/** What operators send for a version (REST body); everything but the version itself on PUT. */
export interface SoftwareInput {
  upgradableFrom: string[];
  specification: JsonValue;
  metadata?: JsonValue;
  rolloutStrategy?: RolloutStrategy;
  filters?: Array<{ filterId: string; rolloutDate?: string | null; query?: EndpointFilterQuery }>;
}

/** Why an endpoint would get a version next. */
export type NextReason = 'offer' | 'general' | 'targeted';

export interface NextVersion {
  /** Without its package: what devices get of it is built by `delivery`. */
  record: StoredSoftware;
  reason: NextReason;
  rolloutId: string | null;
}

/** 7/CMP on cmx_ota: `{configId, config}`, or `configId` '' when nothing applies (the extension answers `{}`). */
export interface SoftwareDelivery {
  configId: string;
  config: JsonValue;
}

export interface SoftwareDeps {
  store: SoftwareStorage;
  bus: EventBus;
  applications: Applications;
  filters: EndpointFilters;
  packages?: PackageSource;
  /**
   * Absolute base of package URLs for a device that reached this server at `localAddress` (the
   * `publicUrl` setting wins over it, in the package service).
   */
  baseUrl?: (localAddress?: string) => string;
  clock?: Clock;
  logger?: Logger;
}

/** At most this many endpoint IDs per `software.offered` event (the contract's chunk). */
const OFFER_EVENT_CHUNK = 1000;
/** How long an application found without versions is taken to have none, for pushes on connect. */
const EMPTY_RECHECK_MS = 5000;

/**
 * Kaa OTAO: software versions per application, what each endpoint runs (as its device reports on
 * cmx_ota), the next version of an endpoint (an open offer from a rollout first, then the
 * version's rollout strategy), and pushes of it to the live sessions this node holds, as
 * configurations are pushed (src/configuration/service.ts).
 */
export class SoftwareService {
  private readonly store: SoftwareStorage;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private devices: DeviceLink | undefined;
  private readonly unsubscribe: () => void;
  private stopListening: (() => void) | undefined;
  /** Applications seen without any version, until when (ms): a new session of theirs costs no reads meanwhile. */
  private readonly emptyUntil = new Map<string, number>();

  constructor(private readonly deps: SoftwareDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.unsubscribe = deps.bus.subscribe((event) => this.onEvent(event));
  }

  /** Pushes go to the sessions of this node's MQTT front door; without it nothing is pushed. */
  attach(devices: DeviceLink): void {
    this.devices = devices;
    this.stopListening = devices.onChannelOpened((channel) => {
      this.pushNext(channel).catch((err: unknown) => this.logger.error({ err, endpointId: channel.endpointId }, 'pushing the next software version failed'));
    });
  }

  close(): void {
    this.unsubscribe();
    this.stopListening?.();
  }

  // --- versions: what operators do ---------------------------------------------------------------

  /** Newest version first. */
  async list(applicationName: string): Promise<SoftwareRecord[]> {
    await this.deps.applications.getApplication(applicationName);
    const stored = newestFirst(await this.store.listSoftware(applicationName));
    return Promise.all(stored.map((s) => this.withPackage(s)));
  }

  /** Rejects SOFTWARE_NOT_FOUND. */
  async get(applicationName: string, version: string): Promise<SoftwareRecord> {
    const stored = await this.store.getSoftware(applicationName, version);
    if (!stored) {
      await this.deps.applications.getApplication(applicationName);
      throw errors.softwareNotFound(applicationName, version);
    }
    return this.withPackage(stored);
  }

  async create(applicationName: string, version: string, input: SoftwareInput): Promise<SoftwareRecord> {
    await this.deps.applications.getApplication(applicationName);
    if (!isStrictVersion(version)) {
      throw errors.softwareInvalid(`version ${JSON.stringify(version)} is not a semantic version; use MAJOR.MINOR.PATCH with an optional -pre-release and +build (1.2.0, 2.0.0-rc.1), without a "v"`);
    }
    const now = this.clock.iso();
    const record: StoredSoftware = { applicationName, version, ...this.checked(input), createdDate: now, updatedDate: now };
    if ((await this.store.insertSoftware(record)) === 'exists') throw errors.softwareTaken(applicationName, version);
    this.emptyUntil.delete(applicationName);
    return this.withPackage(record);
  }

  async update(applicationName: string, version: string, input: SoftwareInput): Promise<SoftwareRecord> {
    const before = await this.get(applicationName, version);
    const record: StoredSoftware = { applicationName, version, ...this.checked(input), createdDate: before.createdDate, updatedDate: this.clock.iso() };
    if (!(await this.store.updateSoftware(record))) throw errors.softwareNotFound(applicationName, version);
    return { ...record, package: before.package };
  }

  /** Its open offers end with it; devices that run it keep reporting it. */
  async remove(applicationName: string, version: string): Promise<void> {
    if (!(await this.store.deleteSoftware(applicationName, version))) {
      await this.deps.applications.getApplication(applicationName);
      throw errors.softwareNotFound(applicationName, version);
    }
    await this.deps.packages?.removeIfAny?.({ applicationName, version });
  }

  private checked(input: SoftwareInput): Pick<StoredSoftware, 'upgradableFrom' | 'specification' | 'metadata' | 'rolloutStrategy' | 'filters'> {
    for (const entry of input.upgradableFrom) {
      const problem = upgradableFromProblem(entry);
      if (problem) throw errors.softwareInvalid(problem);
    }
    const spec = input.specification;
    // What a device gets is the specification plus `package`: only an object can carry it (Kaa OTAO says the same of its S3 URL).
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw errors.softwareInvalid('specification must be a JSON object (the device gets it as its 7/CMP config, with `package` added when the version has one)');
    const strategy = input.rolloutStrategy ?? 'suspended';
    if (!ROLLOUT_STRATEGIES.includes(strategy)) throw errors.softwareInvalid(`rolloutStrategy ${JSON.stringify(strategy)} is unknown; use one of ${ROLLOUT_STRATEGIES.join(', ')}`);
    const seen = new Set<string>();
    const filters: SoftwareFilter[] = (input.filters ?? []).map((f) => {
      if (typeof f.filterId !== 'string' || f.filterId === '') throw errors.softwareInvalid('every filter needs a filterId (a non-empty name)');
      if (seen.has(f.filterId)) throw errors.softwareInvalid(`filterId ${JSON.stringify(f.filterId)} is used twice; give each filter its own`);
      seen.add(f.filterId);
      const filter: SoftwareFilter = { filterId: f.filterId, rolloutDate: rolloutDateOf(f.filterId, f.rolloutDate) };
      if (f.query !== undefined && Object.keys(f.query).length > 0) {
        this.deps.filters.check(f.query);
        filter.query = f.query;
      }
      return filter;
    });
    return { upgradableFrom: [...new Set(input.upgradableFrom)], specification: spec, metadata: input.metadata ?? {}, rolloutStrategy: strategy, filters };
  }

  private async withPackage(stored: StoredSoftware): Promise<SoftwareRecord> {
    const info = this.deps.packages?.info ? await this.deps.packages.info(stored.applicationName, stored.version) : undefined;
    return { ...stored, package: info ?? null };
  }

  // --- what endpoints run --------------------------------------------------------------------------

  /** The version each endpoint runs, as its device last reported (null: never). */
  currentVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>> {
    return this.store.endpointVersions(endpointIds);
  }

  isUpgradable(record: Pick<SoftwareRecord, 'version' | 'upgradableFrom'>, current: string | null): boolean {
    return isUpgradable(record, current);
  }

  /** What the endpoint runs and what it would get next (REST, the dashboard). */
  async endpointState(endpointId: string, applicationName: string): Promise<EndpointSoftware & { next: { version: string; reason: NextReason } | null }> {
    const state = (await this.store.getEndpointSoftware(endpointId)) ?? { endpointId, applicationName, version: null, reportedAt: null, lastFailure: null };
    const next = await this.next(endpointId, applicationName, state);
    return { ...state, next: next && { version: next.record.version, reason: next.reason } };
  }

  history(endpointId: string, offset: number, limit: number): Promise<Page<SoftwareHistoryEntry>> {
    return this.store.history(endpointId, offset, limit);
  }

  /**
   * The version the endpoint should get next: its open offer (a rollout's, while the device does
   * not run it), else the newest version above what it runs that is `general`, or `targeted` with a
   * filter matching it whose rollout date has come, and whose upgradableFrom admits what it runs.
   * A version the device reported failing is not offered again by strategy until it reports running
   * another version: a device that cannot install it does not loop on it.
   */
  async next(endpointId: string, applicationName: string, known?: EndpointSoftware): Promise<NextVersion | null> {
    const [offer, state, versions] = await Promise.all([
      this.store.getOffer(endpointId),
      known ? Promise.resolve(known) : this.store.getEndpointSoftware(endpointId),
      this.store.listSoftware(applicationName),
    ]);
    const current = state?.version ?? null;
    if (offer && offer.applicationName === applicationName && offer.version !== current) {
      const offered = versions.find((v) => v.version === offer.version);
      if (offered) return { record: offered, reason: 'offer', rolloutId: offer.rolloutId };
    }
    const failed = state?.lastFailure?.version;
    const now = this.clock.now();
    for (const candidate of newestFirst(versions)) {
      if (candidate.rolloutStrategy === 'suspended' || candidate.version === failed) continue;
      if (!isNewer(candidate.version, current) || !isUpgradable(candidate, current)) continue;
      if (candidate.rolloutStrategy === 'general') return { record: candidate, reason: 'general', rolloutId: null };
      if (await this.targets(candidate, endpointId, now)) return { record: candidate, reason: 'targeted', rolloutId: null };
    }
    return null;
  }

  /** Kaa OTAO: a targeted version reaches an endpoint matching at least one filter whose rollout date has passed. */
  private async targets(record: StoredSoftware, endpointId: string, now: number): Promise<boolean> {
    for (const filter of record.filters) {
      if (filter.rolloutDate !== null && Date.parse(filter.rolloutDate) > now) continue;
      const query = filter.query ?? {};
      if ((await this.deps.filters.matching(record.applicationName, query, [endpointId])).has(endpointId)) return true;
    }
    return false;
  }

  // --- rollouts (src/rollouts) --------------------------------------------------------------------

  /**
   * Offers the version to the endpoints (durably, each replacing the endpoint's open offer), then
   * announces it in chunks: every node pushes it to the live sessions it holds.
   */
  async offer(applicationName: string, version: string, endpointIds: readonly string[], rolloutId: string | null): Promise<void> {
    await this.get(applicationName, version);
    if (endpointIds.length === 0) return;
    const at = this.clock.iso();
    await this.store.putOffers(endpointIds.map((endpointId) => ({ endpointId, applicationName, version, rolloutId, offeredAt: at })));
    for (let i = 0; i < endpointIds.length; i += OFFER_EVENT_CHUNK) {
      await this.deps.bus.publish({ type: 'software.offered', applicationName, version, rolloutId, endpointIds: endpointIds.slice(i, i + OFFER_EVENT_CHUNK), at });
    }
  }

  /** A cancelled rollout: its open offers end (of those endpoints only, when given). */
  async withdraw(rolloutId: string, endpointIds?: readonly string[]): Promise<void> {
    await this.store.withdrawOffers(rolloutId, endpointIds);
  }

  // --- cmx_ota: what devices do ----------------------------------------------------------------

  /** What the device gets when it asks: the next version with its specification (+ package), or nothing (configId ''). */
  async delivery(endpointId: string, applicationName: string, localAddress?: string): Promise<SoftwareDelivery> {
    const next = await this.next(endpointId, applicationName);
    return next ? this.deliveryOf(next.record, localAddress) : { configId: '', config: null };
  }

  /** `localAddress`: the server address the device reached; the package URL points there. */
  private async deliveryOf(record: StoredSoftware, localAddress: string | undefined): Promise<SoftwareDelivery> {
    const spec = record.specification as { [key: string]: JsonValue };
    const pkg = this.deps.packages && this.deps.baseUrl ? await this.deps.packages.describeForDevice(record.applicationName, record.version, this.deps.baseUrl(localAddress)) : undefined;
    return { configId: record.version, config: pkg ? { ...spec, package: { ...pkg } } : spec };
  }

  /**
   * 7/CMP `applied` on cmx_ota: a 2xx status says the device runs `version` now; anything else that
   * updating to it failed. `implicit` (a config request naming the version it runs) is recorded only
   * when it changes the version, so a device polling with its configId adds no history.
   */
  async report(input: { endpointId: string; applicationName: string; appVersionName: string; version: string; statusCode: number; reasonPhrase: string | null; implicit?: boolean }): Promise<void> {
    if (input.implicit) {
      const state = await this.store.getEndpointSoftware(input.endpointId);
      if (state?.version === input.version) return;
    }
    const report: SoftwareReport = {
      endpointId: input.endpointId,
      applicationName: input.applicationName,
      version: input.version,
      statusCode: input.statusCode,
      reasonPhrase: input.reasonPhrase,
      at: this.clock.iso(),
    };
    await this.store.recordReports([report]);
    // The device runs something new: what comes after it may be due now (the Kaa Node client asks
    // before it reports, so its first answer was `{}`). Its sessions are on this node: it just spoke.
    if (!input.implicit && input.statusCode >= 200 && input.statusCode < 300) this.pushNextTo(input.endpointId, input.applicationName);
    void this.deps.bus
      .publish({ type: 'software.reported', endpointId: report.endpointId, applicationName: report.applicationName, appVersionName: input.appVersionName, version: report.version, statusCode: report.statusCode, reasonPhrase: report.reasonPhrase, at: report.at })
      .catch(() => {});
  }

  // --- pushes ------------------------------------------------------------------------------------

  /** A new session of the endpoint gets its next version at once, if it has one. */
  private async pushNext(channel: DeviceChannel): Promise<void> {
    if (!this.devices) return;
    const version = await this.deps.applications.getVersion(channel.appVersionName);
    if (!version.extensions.includes(CMX_OTA)) return;
    if (await this.withoutVersions(channel.applicationName)) return;
    const next = await this.next(channel.endpointId, channel.applicationName);
    if (next) this.pushTo(channel, await this.deliveryOf(next.record, channel.localAddress));
  }

  private pushNextTo(endpointId: string, applicationName: string): void {
    for (const channel of this.devices?.channelsOf(endpointId) ?? []) {
      if (channel.applicationName !== applicationName) continue;
      this.pushNext(channel).catch((err: unknown) => this.logger.error({ err, endpointId }, 'pushing the next software version failed'));
    }
  }

  /**
   * Most fleets connect far more often than they get software: an application without versions is
   * read once per EMPTY_RECHECK_MS, not per session. A version made on this node, or offered by
   * any node, ends that at once; one made on another node is seen by the next recheck (a device
   * that asks is always answered from the store).
   */
  private async withoutVersions(applicationName: string): Promise<boolean> {
    const until = this.emptyUntil.get(applicationName);
    if (until !== undefined && until > this.clock.now()) return true;
    const empty = (await this.store.listSoftware(applicationName)).length === 0;
    if (empty) this.emptyUntil.set(applicationName, this.clock.now() + EMPTY_RECHECK_MS);
    else this.emptyUntil.delete(applicationName);
    return empty;
  }

  private pushTo(channel: DeviceChannel, sent: SoftwareDelivery): void {
    const devices = this.devices;
    if (!devices || !channel.open) return;
    // 7/CMP: `observe: false` stops pushes for this session; the same version is never sent twice.
    if (!channel.observes(CMX_OTA, RESOURCE)) return;
    if (channel.lastSent(SENT_KEY) === sent.configId) return;
    devices.push(channel, CMX_OTA, `${RESOURCE}/status`, Buffer.from(JSON.stringify(sent), 'utf8'));
    channel.noteSent(SENT_KEY, sent.configId);
  }

  /** A rollout reached endpoints: those with a live session on this node get the version now. */
  private async pushOffered(applicationName: string, version: string, endpointIds: readonly string[]): Promise<void> {
    const devices = this.devices;
    if (!devices) return;
    const channels = endpointIds.flatMap((id) => devices.channelsOf(id).filter((c) => c.applicationName === applicationName));
    if (channels.length === 0) return;
    const enabled = new Map<string, boolean>();
    const live: DeviceChannel[] = [];
    for (const channel of channels) {
      let on = enabled.get(channel.appVersionName);
      if (on === undefined) {
        on = (await this.deps.applications.getVersion(channel.appVersionName).catch(() => undefined))?.extensions.includes(CMX_OTA) ?? false;
        enabled.set(channel.appVersionName, on);
      }
      if (on) live.push(channel);
    }
    if (live.length === 0) return;
    const record = await this.store.getSoftware(applicationName, version);
    if (!record) return;
    const running = await this.store.endpointVersions(live.map((c) => c.endpointId));
    // One delivery per server address the devices reached (usually one), not one per device.
    const byAddress = new Map<string | undefined, SoftwareDelivery>();
    for (const channel of live) {
      if (running.get(channel.endpointId) === version) continue;
      let sent = byAddress.get(channel.localAddress);
      if (!sent) byAddress.set(channel.localAddress, (sent = await this.deliveryOf(record, channel.localAddress)));
      this.pushTo(channel, sent);
    }
  }

  private onEvent(event: TetherEvent): void {
    if (event.type === 'software.offered') {
      this.emptyUntil.delete(event.applicationName);
      this.pushOffered(event.applicationName, event.version, event.endpointIds).catch((err: unknown) => this.logger.error({ err, version: event.version }, 'pushing an offered software version failed'));
    } else if (event.type === 'endpoint.deleted') {
      this.store.deleteEndpoint(event.endpointId).catch((err: unknown) => this.logger.error({ err, endpointId: event.endpointId }, 'removing the software state of a deleted endpoint failed'));
    } else if (event.type === 'application.deleted') {
      this.store.deleteApplication(event.applicationName).catch((err: unknown) => this.logger.error({ err, applicationName: event.applicationName }, 'removing the software versions of a deleted application failed'));
    }
  }
}

/** cmx_ota speaks 7/CMP's default configuration resource only. */
const RESOURCE = 'config/json';
const SENT_KEY = configSentKey(CMX_OTA, '');

function rolloutDateOf(filterId: string, given: string | null | undefined): string | null {
  if (given === undefined || given === null || given === '') return null;
  const ms = typeof given === 'string' ? Date.parse(given) : Number.NaN;
  if (Number.isNaN(ms)) throw errors.softwareInvalid(`rolloutDate ${JSON.stringify(given)} of filter ${JSON.stringify(filterId)} is not a date; use ISO 8601 UTC such as 2026-05-01T00:00:00Z, or null for at once`);
  return new Date(ms).toISOString();
}

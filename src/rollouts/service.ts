/**
 * Rollouts (beyond Kaa, after AWS IoT Jobs): a software version offered to a fixed set of
 * endpoints at a rate, watched by an abort rule, paused, resumed or cancelled by operators.
 * This module creates them and answers for them; driver.ts offers and counts. docs/rollouts.md.
 */
import { randomUUID } from 'node:crypto';
import type { EventBus } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import { type AbortRule, type Rollout, type RolloutDevice, type RolloutDeviceState, type RolloutRate, type RolloutRecord, type RolloutState, type RolloutTarget, type TimelinePoint, OPEN_ROLLOUT_STATES } from '../core/rollouts.js';
import type { Applications } from '../core/services.js';
import type { EndpointFilterQuery } from '../core/software.js';
import type { Page } from '../core/types.js';
import type { NewRolloutDevice, RolloutStorage } from '../storage/rollouts.js';
import { DEFAULT_DRIVER_SETTINGS, type DriverSettings, RolloutDriver } from './driver.js';
import type { RolloutSoftware } from './software.js';

/** Most endpoints one rollout addresses (as a CEX batch). */
export const MAX_ROLLOUT_ENDPOINTS = 100_000;

/**
 * Endpoint List searches, parsed by the REST layer (src/api/endpoint-query.ts) and handed in by the
 * composition root, so a rollout's `query` target means exactly what the Endpoint List shows.
 */
export interface EndpointSearch {
  /** Throws VALIDATION_FAILED saying what is wrong with the query. */
  check(query: EndpointFilterQuery): void;
  /** The application's endpoints the query matches, oldest first; `total` counts them all (more than `limit`: only `total` counts). */
  find(applicationName: string, query: EndpointFilterQuery, limit: number): Promise<{ total: number; endpointIds: string[] }>;
}

export interface RolloutInput {
  version: string;
  target: RolloutTarget;
  rate?: RolloutRate | null;
  abort?: AbortRule | null;
}

export interface RolloutDeps {
  store: RolloutStorage;
  software: RolloutSoftware;
  bus: EventBus;
  applications: Pick<Applications, 'getApplication' | 'getVersion'>;
  endpoints: EndpointSearch;
  /** This node's name among those sharing the database: the driver's lease holder. */
  nodeId: string;
  clock?: Clock;
  logger?: Logger;
  settings?: Partial<DriverSettings>;
}

export class RolloutService {
  private readonly store: RolloutStorage;
  private readonly clock: Clock;
  private readonly driver: RolloutDriver;

  constructor(private readonly deps: RolloutDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.driver = new RolloutDriver({
      store: deps.store,
      software: deps.software,
      bus: deps.bus,
      clock: this.clock,
      logger: (deps.logger ?? silentLogger).child({ part: 'rollouts' }),
      nodeId: deps.nodeId,
      settings: { ...DEFAULT_DRIVER_SETTINGS, ...deps.settings },
    });
  }

  /** Takes over the running rollouts no live node drives (after a restart, all of them), then ticks. */
  start(): void {
    this.driver.start();
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  /** One driving round now, claiming orphaned rollouts too; for tests with an injected clock. */
  tick(): Promise<void> {
    return this.driver.tick({ claim: true });
  }

  /** Resolves once the round under way and the reports heard so far are recorded. */
  settled(): Promise<void> {
    return this.driver.settled();
  }

  /** The rollouts this node drives now. */
  driving(): string[] {
    return this.driver.drivenIds();
  }

  async create(applicationName: string, input: RolloutInput): Promise<Rollout> {
    await this.deps.applications.getApplication(applicationName);
    const rate = checkRate(input.rate ?? null);
    const abort = checkAbort(input.abort ?? null);
    const software = await this.deps.software.get(applicationName, input.version);
    const target = await this.checkTarget(applicationName, input.target);
    const endpointIds = await this.resolve(applicationName, target);
    const running = await this.deps.software.currentVersions(endpointIds);
    const devices: NewRolloutDevice[] = endpointIds.map((endpointId) => {
      const current = running.get(endpointId) ?? null;
      if (current === software.version) return { endpointId, state: 'skipped', reason: `already runs ${software.version}` };
      if (!this.deps.software.isUpgradable(software, current)) {
        const from = software.upgradableFrom.length > 0 ? software.upgradableFrom.join(', ') : 'nothing';
        return { endpointId, state: 'skipped', reason: `runs ${current ?? 'no reported version'}; ${software.version} upgrades ${from}` };
      }
      return { endpointId, state: 'pending', reason: null };
    });
    const now = this.clock.iso();
    const record: RolloutRecord = { rolloutId: randomUUID(), applicationName, version: software.version, target, rate, abort, state: 'running', reason: null, createdAt: now, updatedAt: now };
    await this.store.insertRollout(record, devices);
    // As created: read before the first batch goes.
    const created = await this.present(record);
    // The first batch goes now, not at the next tick (with no rate: the whole fleet).
    void this.driver.tick({ claim: true });
    return created;
  }

  async get(rolloutId: string): Promise<Rollout> {
    return this.present(await this.record(rolloutId));
  }

  /** Newest first. */
  async list(applicationName: string, states: RolloutState[] | undefined, offset: number, limit: number): Promise<Page<Rollout>> {
    await this.deps.applications.getApplication(applicationName);
    const page = await this.store.listRollouts({ applicationName, ...(states && states.length > 0 && { states }), offset, limit });
    return { totalElements: page.totalElements, content: await Promise.all(page.content.map((r) => this.present(r))) };
  }

  async devices(rolloutId: string, states: RolloutDeviceState[] | undefined, offset: number, limit: number): Promise<Page<RolloutDevice>> {
    await this.record(rolloutId);
    return this.store.queryDevices({ rolloutId, ...(states && states.length > 0 && { states }), offset, limit });
  }

  async timeline(rolloutId: string): Promise<TimelinePoint[]> {
    await this.record(rolloutId);
    return this.store.timeline(rolloutId);
  }

  /** No more offers until resumed; devices already offered still report (and time out). Pausing a paused rollout changes nothing. */
  pause(rolloutId: string): Promise<Rollout> {
    return this.transition(rolloutId, 'paused', ['running'], 'paused', 'running', 'paused by an operator');
  }

  resume(rolloutId: string): Promise<Rollout> {
    return this.transition(rolloutId, 'running', ['paused'], 'resumed', 'paused', null);
  }

  /** Stops for good: devices not yet offered never are, and open offers are withdrawn. */
  async cancel(rolloutId: string): Promise<Rollout> {
    const rollout = await this.transition(rolloutId, 'cancelled', OPEN_ROLLOUT_STATES, 'cancelled', 'running or paused', 'cancelled by an operator');
    // The driver withdraws too when it sees the state (it may be another node, mid-batch).
    await this.deps.software.withdraw(rolloutId);
    return rollout;
  }

  private async transition(rolloutId: string, to: RolloutState, from: readonly RolloutState[], action: string, allowed: string, reason: string | null): Promise<Rollout> {
    const current = await this.record(rolloutId);
    if (current.state === to) return this.present(current);
    const changed = await this.store.setState(rolloutId, from, to, reason, this.clock.iso());
    if (!changed) {
      const now = await this.record(rolloutId);
      if (now.state === to) return this.present(now);
      throw errors.rolloutStateConflict(rolloutId, now.state, action, allowed);
    }
    this.driver.changed(changed);
    return this.present(changed);
  }

  private async record(rolloutId: string): Promise<RolloutRecord> {
    const record = await this.store.getRollout(rolloutId);
    if (!record) throw errors.rolloutNotFound(rolloutId);
    return record;
  }

  private async present(record: RolloutRecord): Promise<Rollout> {
    return { ...record, counts: await this.store.counts(record.rolloutId) };
  }

  private async checkTarget(applicationName: string, target: RolloutTarget): Promise<RolloutTarget> {
    const kinds = ['appVersionName', 'query', 'endpointIds'].filter((k) => k in target);
    if (kinds.length !== 1) throw errors.rolloutInvalid('target must have exactly one of appVersionName, query or endpointIds');
    if ('appVersionName' in target) {
      const version = await this.deps.applications.getVersion(target.appVersionName);
      if (version.applicationName !== applicationName) throw errors.rolloutInvalid(`application version ${JSON.stringify(target.appVersionName)} belongs to application ${JSON.stringify(version.applicationName)}, not ${JSON.stringify(applicationName)}`);
      return { appVersionName: target.appVersionName };
    }
    if ('query' in target) {
      this.deps.endpoints.check(target.query);
      return { query: target.query };
    }
    if (target.endpointIds.length === 0) throw errors.rolloutInvalid('target.endpointIds is empty; name at least one endpoint');
    return { endpointIds: [...new Set(target.endpointIds)] };
  }

  /** The fixed list of endpoints a target means now; later endpoints do not join the rollout. */
  private async resolve(applicationName: string, target: RolloutTarget): Promise<string[]> {
    const query: EndpointFilterQuery = 'appVersionName' in target ? { applicationVersionName: target.appVersionName } : 'query' in target ? target.query : { endpointId: target.endpointIds };
    const found = await this.deps.endpoints.find(applicationName, query, MAX_ROLLOUT_ENDPOINTS + 1);
    if (found.total > MAX_ROLLOUT_ENDPOINTS) throw errors.rolloutInvalid(`the target matches ${found.total} endpoints; a rollout addresses at most ${MAX_ROLLOUT_ENDPOINTS}. Narrow it down, or roll out in parts`);
    if ('endpointIds' in target) {
      const known = new Set(found.endpointIds);
      const unknown = target.endpointIds.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        const shown = unknown.slice(0, 5).map((id) => JSON.stringify(id)).join(', ');
        throw errors.rolloutInvalid(`${unknown.length} of the endpoint IDs (${shown}${unknown.length > 5 ? ', …' : ''}) are not endpoints of application ${JSON.stringify(applicationName)}`);
      }
      // The order given is the order offered.
      return target.endpointIds;
    }
    if (found.endpointIds.length === 0) throw errors.rolloutInvalid('the target matches no endpoint');
    return found.endpointIds;
  }
}

function checkRate(rate: RolloutRate | null): RolloutRate | null {
  if (rate === null) return null;
  if (!(rate.perMinute > 0) || !Number.isFinite(rate.perMinute)) throw errors.rolloutInvalid('rate.perMinute must be a number above 0 (devices per minute); leave rate out to offer every device at once');
  if (rate.growth === undefined) return { perMinute: rate.perMinute };
  const { factor, everySuccesses } = rate.growth;
  if (!(factor >= 1) || !Number.isFinite(factor)) throw errors.rolloutInvalid('rate.growth.factor must be at least 1 (1.5: half again as many per minute)');
  if (!Number.isInteger(everySuccesses) || everySuccesses < 1) throw errors.rolloutInvalid('rate.growth.everySuccesses must be a whole number of at least 1');
  return { perMinute: rate.perMinute, growth: { factor, everySuccesses } };
}

function checkAbort(rule: AbortRule | null): AbortRule | null {
  if (rule === null) return null;
  if (!(rule.failurePercent >= 0 && rule.failurePercent <= 100)) throw errors.rolloutInvalid('abort.failurePercent must be between 0 and 100');
  if (!Number.isInteger(rule.minAttempted) || rule.minAttempted < 1) throw errors.rolloutInvalid('abort.minAttempted must be a whole number of at least 1');
  const t = rule.reportTimeoutSeconds;
  if (t !== undefined && (!(t > 0) || !Number.isFinite(t))) throw errors.rolloutInvalid('abort.reportTimeoutSeconds must be above 0, or left out for no timeout');
  return { failurePercent: rule.failurePercent, minAttempted: rule.minAttempted, ...(t !== undefined && { reportTimeoutSeconds: t }) };
}

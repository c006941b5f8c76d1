/**
 * Drives the rollouts this node holds the lease of: offers pending devices at the rollout's rate,
 * records what devices report (the `software.reported` bus event), times silent devices out,
 * aborts on the abort rule and completes when nothing is left. One node drives a rollout at a
 * time (the lease in its row, RolloutStorage.claimRollouts); any node may pause, resume or cancel
 * it in storage, and the driver sees that on its next tick. docs/rollouts.md.
 */
import type { EventBus, TetherEvent } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { type DeviceOutcome, type RolloutCounts, type RolloutRecord, OPEN_ROLLOUT_STATES } from '../core/rollouts.js';
import type { RolloutStorage } from '../storage/rollouts.js';
import { INITIAL_CREDIT, abortReason, accrue, completedReason, currentRate } from './rules.js';
import type { RolloutSoftware } from './software.js';

export interface DriverSettings {
  /** How often each driven rollout offers its share of the rate and checks timeouts. */
  tickMs: number;
  /** How long a node's claim on a rollout lasts without renewal; another node takes over after it. */
  leaseMs: number;
  /** How often the leases are renewed (and orphaned rollouts looked for). */
  claimEveryMs: number;
  /** Most devices offered (and announced) per storage call within a tick; the abort rule is checked before each. */
  batchSize: number;
  /** Reports still counted after a rollout this node drove has ended. */
  lateReportsMs: number;
  /** False in tests that call `tick()` themselves with an injected clock. */
  timer: boolean;
}

export const DEFAULT_DRIVER_SETTINGS: DriverSettings = {
  tickMs: 1000,
  leaseMs: 30_000,
  claimEveryMs: 10_000,
  batchSize: 1000,
  lateReportsMs: 10 * 60_000,
  timer: true,
};

interface Driven {
  record: RolloutRecord;
  counts: RolloutCounts;
  /** Open offers: endpoint → when offered (ms). */
  offered: Map<string, number>;
  credit: number;
  lastTick: number;
  /** When this node saw it end; kept a while for late reports. */
  endedAt?: number;
  /** The offer being stored and announced, if any: the rollout's end waits for it before withdrawing. */
  announcing?: Promise<boolean> | undefined;
}

export interface DriverDeps {
  store: RolloutStorage;
  software: RolloutSoftware;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  nodeId: string;
  settings: DriverSettings;
}

export class RolloutDriver {
  private readonly driven = new Map<string, Driven>();
  private readonly outcomes = new Map<string, DeviceOutcome[]>();
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastClaim = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: DriverDeps) {
    this.unsubscribe = deps.bus.subscribe((event) => this.onEvent(event));
  }

  start(): void {
    if (this.deps.settings.timer && !this.timer) {
      this.timer = setInterval(() => void this.tick(), this.deps.settings.tickMs);
      this.timer.unref();
    }
    void this.tick();
  }

  /** Stops driving and gives the leases up, so another node takes over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    await this.running;
    await this.flushing;
    for (const id of this.driven.keys()) await this.deps.store.releaseRollout(id, this.deps.nodeId).catch(() => {});
    this.driven.clear();
  }

  /** The rollout was changed through this node (pause, resume, cancel): the driver sees it now, not at its next tick. */
  changed(record: RolloutRecord): void {
    const d = this.driven.get(record.rolloutId);
    if (d && !d.endedAt) {
      if (record.state === 'running' && d.record.state !== 'running') d.lastTick = this.deps.clock.now();
      d.record = record;
    }
  }

  /** One round: renew leases (and claim orphans) when due, then drive every rollout held. Tests call it with an injected clock. */
  tick(options: { claim?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Rounds never overlap: a slow one (a large batch) delays the next instead of doubling it.
    const next = (this.running ?? Promise.resolve()).then(() => this.round(options.claim ?? false));
    const settled = next.catch((err: unknown) => this.deps.logger.error({ err }, 'driving rollouts failed; retrying at the next tick'));
    this.running = settled;
    return settled;
  }

  private async round(forceClaim: boolean): Promise<void> {
    if (this.closed) return;
    const now = this.deps.clock.now();
    if (forceClaim || now - this.lastClaim >= this.deps.settings.claimEveryMs) {
      this.lastClaim = now;
      await this.claim(now);
    }
    for (const d of [...this.driven.values()]) {
      if (this.closed) return;
      await this.drive(d);
    }
  }

  private async claim(now: number): Promise<void> {
    const ids = await this.deps.store.claimRollouts(this.deps.nodeId, new Date(now).toISOString(), new Date(now + this.deps.settings.leaseMs).toISOString());
    const held = new Set(ids);
    // Another node took one over (this node's lease ran out while it stalled): stop driving it.
    for (const [id, d] of this.driven) if (!d.endedAt && !held.has(id)) this.driven.delete(id);
    for (const id of ids) {
      if (this.driven.has(id)) continue;
      const d = await this.load(id, now);
      if (d) this.driven.set(id, d);
    }
  }

  /**
   * Takes a rollout over: its counts and open offers from storage. Devices that reported while no
   * node drove it (a restart) are found by what they run now.
   */
  private async load(rolloutId: string, now: number): Promise<Driven | undefined> {
    const { store, software } = this.deps;
    const record = await store.getRollout(rolloutId);
    if (!record) return undefined;
    const offers = await store.openOffers(rolloutId);
    const d: Driven = { record, counts: await store.counts(rolloutId), offered: new Map(offers.map((o) => [o.endpointId, Date.parse(o.offeredAt)])), credit: INITIAL_CREDIT, lastTick: now };
    if (offers.length > 0) {
      const running = await software.currentVersions(offers.map((o) => o.endpointId));
      const at = this.deps.clock.iso();
      const applied = offers.filter((o) => running.get(o.endpointId) === record.version).map((o): DeviceOutcome => ({ endpointId: o.endpointId, state: 'applied', reason: null, at }));
      if (applied.length > 0) this.apply(d, await store.finishDevices(rolloutId, applied));
    }
    this.deps.logger.info({ rolloutId, node: this.deps.nodeId, state: record.state }, 'driving rollout');
    return d;
  }

  private async drive(d: Driven): Promise<void> {
    const { store, clock, settings } = this.deps;
    const id = d.record.rolloutId;
    const now = clock.now();
    if (d.endedAt) {
      if (now - d.endedAt >= settings.lateReportsMs) this.driven.delete(id);
      return;
    }
    // Pause, resume or cancel may have come through another node.
    const fresh = await store.getRollout(id);
    if (!fresh) {
      this.driven.delete(id);
      return;
    }
    if (fresh.state === 'running' && d.record.state !== 'running') d.lastTick = now;
    d.record = fresh;
    if (!OPEN_ROLLOUT_STATES.includes(fresh.state)) return this.ended(d);

    await this.timeOut(d, now);
    if (await this.evaluate(d)) return;
    if (d.record.state !== 'running') {
      d.lastTick = now;
      return;
    }
    const rate = d.record.rate;
    let budget = Number.POSITIVE_INFINITY;
    if (rate) {
      d.credit = accrue(d.credit, currentRate(rate, d.counts.applied), now - d.lastTick);
      budget = Math.floor(d.credit);
    }
    d.lastTick = now;
    // Announcing one batch (storing the offers, pushing them) overlaps marking the next: a fleet
    // with no rate is offered in about half the sequential commits.
    let announcing: Promise<boolean> | undefined;
    while (budget > 0 && d.record.state === 'running' && !this.closed) {
      // AWS IoT's abort criteria are checked before each batch: a failing fleet stops being offered at once.
      if (await this.evaluate(d)) break;
      const take = Math.min(budget, settings.batchSize);
      const batch = await this.mark(d, take);
      if (announcing && !(await announcing)) return;
      if (batch === undefined) {
        announcing = undefined;
        break;
      }
      announcing = this.announce(d, batch);
      budget -= take;
      if (rate) d.credit -= take;
    }
    if (announcing && !(await announcing)) return;
    await this.evaluate(d);
  }

  /** Marks up to `n` pending devices offered; resolves those to announce, undefined when none were pending. */
  private async mark(d: Driven, n: number): Promise<string[] | undefined> {
    const { store, software, clock } = this.deps;
    const r = d.record;
    const ids = await store.pendingDevices(r.rolloutId, n);
    if (ids.length === 0) return undefined;
    const at = clock.iso();
    // A device may have got the version meanwhile (another rollout, a strategy): it needs no offer.
    const running = await software.currentVersions(ids);
    const already = ids.filter((id) => running.get(id) === r.version);
    if (already.length > 0) this.apply(d, await store.finishDevices(r.rolloutId, already.map((endpointId) => ({ endpointId, state: 'applied', reason: `already ran ${r.version}`, at }))));
    const skip = new Set(already);
    const changed = await store.markOffered(r.rolloutId, ids.filter((id) => !skip.has(id)), at);
    const ms = Date.parse(at);
    for (const id of changed) d.offered.set(id, ms);
    d.counts.pending -= changed.length;
    d.counts.offered += changed.length;
    return changed;
  }

  /**
   * Offers the version to marked devices (software.offer stores the offers and announces them);
   * false when the rollout can go no further. A rollout that ended meanwhile offers nothing more,
   * and its end waits for an offer under way before withdrawing them all (ended()).
   */
  private announce(d: Driven, endpointIds: string[]): Promise<boolean> {
    const r = d.record;
    const work = (async () => {
      if (d.endedAt || endpointIds.length === 0) return !d.endedAt;
      try {
        await this.deps.software.offer(r.applicationName, r.version, endpointIds, r.rolloutId);
        return true;
      } catch (err) {
        // The version was deleted, or storage is away: stop rather than leave devices offered nothing.
        const reason = `aborted: offering ${r.version} failed (${(err as Error).message ?? String(err)})`;
        this.deps.logger.error({ err, rolloutId: r.rolloutId }, 'offering a rollout version failed');
        d.announcing = undefined;
        await this.stop(d, 'aborted', reason);
        return false;
      }
    })();
    d.announcing = work;
    return work;
  }

  private async timeOut(d: Driven, now: number): Promise<void> {
    const seconds = d.record.abort?.reportTimeoutSeconds;
    if (seconds === undefined || d.offered.size === 0) return;
    const cutoff = now - seconds * 1000;
    let due = false;
    for (const at of d.offered.values()) if (at < cutoff) due = true;
    if (!due) return;
    const at = this.deps.clock.iso();
    const ids = await this.deps.store.timeOut(d.record.rolloutId, new Date(cutoff).toISOString(), at, `no report within ${seconds} s of the offer`);
    for (const id of ids) {
      if (d.offered.delete(id)) {
        d.counts.offered--;
        d.counts.timed_out++;
      }
    }
  }

  /** Aborts or completes the rollout when its counts say so; true when it is no longer running or paused. */
  private async evaluate(d: Driven): Promise<boolean> {
    if (d.endedAt || !OPEN_ROLLOUT_STATES.includes(d.record.state)) return true;
    const abort = abortReason(d.record.abort, d.counts);
    if (abort) {
      await this.stop(d, 'aborted', abort);
      return true;
    }
    if (d.counts.pending === 0 && d.counts.offered === 0) {
      await this.stop(d, 'completed', completedReason(d.counts));
      return true;
    }
    return false;
  }

  private async stop(d: Driven, to: 'aborted' | 'completed', reason: string): Promise<void> {
    const id = d.record.rolloutId;
    const changed = await this.deps.store.setState(id, OPEN_ROLLOUT_STATES, to, reason, this.deps.clock.iso());
    if (changed) {
      d.record = changed;
      this.deps.logger.info({ rolloutId: id, reason }, `rollout ${to}`);
    } else {
      // Cancelled through another node meanwhile: that decision stands.
      d.record = (await this.deps.store.getRollout(id)) ?? d.record;
    }
    await this.ended(d);
  }

  /** Over: an aborted or cancelled rollout's open offers end (devices not yet updating will not start). */
  private async ended(d: Driven): Promise<void> {
    if (d.endedAt) return;
    d.endedAt = this.deps.clock.now();
    const id = d.record.rolloutId;
    // An offer stored after the withdrawal would stay open: let the one under way finish first.
    await d.announcing?.catch(() => undefined);
    if (d.record.state === 'aborted' || d.record.state === 'cancelled') await this.deps.software.withdraw(id);
    await this.deps.store.releaseRollout(id, this.deps.nodeId);
  }

  // --- what devices report -------------------------------------------------------------------------

  private onEvent(event: TetherEvent): void {
    if (this.closed) return;
    if (event.type === 'endpoint.deleted') return this.onDeleted(event.endpointId, event.applicationName, event.at);
    if (event.type !== 'software.reported') return;
    for (const d of this.driven.values()) {
      if (d.record.version !== event.version || d.record.applicationName !== event.applicationName || !d.offered.has(event.endpointId)) continue;
      const ok = event.statusCode >= 200 && event.statusCode < 300;
      const reason = ok ? null : (event.reasonPhrase ?? `status ${event.statusCode}`);
      let list = this.outcomes.get(d.record.rolloutId);
      if (!list) this.outcomes.set(d.record.rolloutId, (list = []));
      list.push({ endpointId: event.endpointId, state: ok ? 'applied' : 'failed', reason, at: event.at });
    }
    this.scheduleFlush();
  }

  /** A deleted endpoint will never report: skipped, so the rollout does not wait for it. */
  private onDeleted(endpointId: string, applicationName: string, at: string): void {
    for (const d of this.driven.values()) {
      if (d.endedAt || d.record.applicationName !== applicationName) continue;
      let list = this.outcomes.get(d.record.rolloutId);
      if (!list) this.outcomes.set(d.record.rolloutId, (list = []));
      list.push({ endpointId, state: 'skipped', reason: 'endpoint deleted', at });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.outcomes.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      // Every report of one event-loop turn in one write per rollout.
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushing = this.flushing.then(() => this.flush()).catch((err: unknown) => this.deps.logger.error({ err }, 'recording rollout outcomes failed'));
      });
    }
  }

  private async flush(): Promise<void> {
    const batches = [...this.outcomes];
    this.outcomes.clear();
    for (const [rolloutId, outcomes] of batches) {
      const d = this.driven.get(rolloutId);
      if (!d) continue;
      this.apply(d, await this.deps.store.finishDevices(rolloutId, outcomes));
      await this.evaluate(d);
    }
  }

  private apply(d: Driven, changed: readonly DeviceOutcome[]): void {
    for (const o of changed) {
      if (d.offered.delete(o.endpointId)) d.counts.offered--;
      else d.counts.pending--;
      d.counts[o.state]++;
    }
  }

  /** Resolves once the round under way and every report heard so far are recorded (tests with an injected clock). */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.running;
      await this.flushing;
      if (this.outcomes.size === 0 && !this.flushScheduled) return;
    }
  }

  /** For tests and the benchmark: what this node drives now. */
  drivenIds(): string[] {
    return [...this.driven].filter(([, d]) => !d.endedAt).map(([id]) => id);
  }
}

/**
 * A RolloutService over real rollout storage (SQLite) and the in-process bus, with a stand-in for
 * the software service whose "devices" answer every offer at once as told (apply, fail, or stay
 * silent), and an injected clock: rates, growth, timeouts and the abort rule without real time.
 * The platform tests (platform.test.ts) cover the same over MQTT with real devices.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventBus } from '../../src/bus/bus.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import { errors } from '../../src/core/errors.js';
import type { SoftwareRecord } from '../../src/core/software.js';
import type { AppVersion, Application } from '../../src/core/types.js';
import type { DriverSettings } from '../../src/rollouts/driver.js';
import type { EndpointSearch } from '../../src/rollouts/service.js';
import { RolloutService } from '../../src/rollouts/service.js';
import type { RolloutSoftware } from '../../src/rollouts/software.js';
import { isUpgradable } from '../../src/software/versions.js';
import type { RolloutStorage } from '../../src/storage/rollouts.js';
import { openSqliteRolloutStorage } from '../../src/storage/sqlite/rollouts.js';
import { type TestClock, createTestClock } from '../helpers/clock.js';
import type { Cleanup } from '../helpers/tmp.js';

export const APP = 'app';
export type Behaviour = 'apply' | 'fail' | 'silent';

export class FakeFleet implements RolloutSoftware {
  /** What each endpoint runs; also which endpoints exist (with their application version). */
  readonly running = new Map<string, string | null>();
  readonly appVersionOf = new Map<string, string>();
  readonly offers: Array<{ rolloutId: string | null; endpointIds: string[] }> = [];
  readonly withdrawn: string[] = [];
  /** Offers and withdrawals in the order they were stored. */
  readonly log: string[] = [];
  behaviour: (endpointId: string) => Behaviour = () => 'apply';
  readonly software: SoftwareRecord;

  constructor(
    private readonly bus: EventBus,
    private readonly clock: TestClock,
    version = '1.2.0',
    upgradableFrom = ['1.1.x', ''],
  ) {
    this.software = { applicationName: APP, version, upgradableFrom, specification: {}, metadata: {}, rolloutStrategy: 'suspended', filters: [], package: null, createdDate: clock.iso(), updatedDate: clock.iso() };
  }

  add(count: number, options: { prefix?: string; runs?: string | null; appVersionName?: string } = {}): string[] {
    const ids = Array.from({ length: count }, (_, i) => `${options.prefix ?? 'ep'}-${String(this.running.size + i).padStart(5, '0')}`);
    for (const id of ids) {
      this.running.set(id, options.runs === undefined ? '1.1.0' : options.runs);
      this.appVersionOf.set(id, options.appVersionName ?? 'app_v1');
    }
    return ids;
  }

  get offeredCount(): number {
    return this.offers.reduce((n, o) => n + o.endpointIds.length, 0);
  }

  async get(applicationName: string, version: string): Promise<SoftwareRecord> {
    if (applicationName !== APP || version !== this.software.version) throw errors.softwareNotFound(applicationName, version);
    return this.software;
  }

  async currentVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>> {
    return new Map(endpointIds.map((id) => [id, this.running.get(id) ?? null]));
  }

  isUpgradable(record: Pick<SoftwareRecord, 'version' | 'upgradableFrom'>, current: string | null): boolean {
    return isUpgradable(record, current);
  }

  async offer(applicationName: string, version: string, endpointIds: readonly string[], rolloutId: string | null): Promise<void> {
    // Stored a moment later, as a real store commits: a withdrawal must not overtake it.
    await new Promise((resolve) => setImmediate(resolve));
    this.offers.push({ rolloutId, endpointIds: [...endpointIds] });
    this.log.push('offer');
    for (const endpointId of endpointIds) {
      const b = this.behaviour(endpointId);
      if (b === 'silent') continue;
      if (b === 'apply') this.running.set(endpointId, version);
      void this.bus.publish({
        type: 'software.reported', endpointId, applicationName, appVersionName: this.appVersionOf.get(endpointId) ?? 'app_v1', version,
        statusCode: b === 'apply' ? 200 : 500, reasonPhrase: b === 'apply' ? null : 'flash write failed', at: this.clock.iso(),
      });
    }
  }

  async withdraw(rolloutId: string): Promise<void> {
    this.withdrawn.push(rolloutId);
    this.log.push('withdraw');
  }

  /** A device reports on its own (after a timeout, say). */
  report(endpointId: string, statusCode: number, reasonPhrase: string | null = null): Promise<void> {
    if (statusCode < 300) this.running.set(endpointId, this.software.version);
    return this.bus.publish({ type: 'software.reported', endpointId, applicationName: APP, appVersionName: 'app_v1', version: this.software.version, statusCode, reasonPhrase, at: this.clock.iso() });
  }

  /** Endpoint List searches over the fake endpoints: application version, endpoint IDs, and `search` (substring of the ID). */
  search(): EndpointSearch {
    return {
      check: (query) => {
        if ('filter' in query) throw errors.validation('query.filter is not supported by the fake');
      },
      find: async (applicationName, query, limit) => {
        let ids = applicationName === APP ? [...this.running.keys()] : [];
        if (query.applicationVersionName !== undefined) ids = ids.filter((id) => this.appVersionOf.get(id) === query.applicationVersionName);
        if (query.endpointId !== undefined) {
          const wanted = new Set(query.endpointId);
          ids = ids.filter((id) => wanted.has(id));
        }
        if (query.search !== undefined) ids = ids.filter((id) => id.includes(query.search!));
        return { total: ids.length, endpointIds: ids.slice(0, limit) };
      },
    };
  }
}

const applications = {
  async getApplication(name: string): Promise<Application> {
    if (name !== APP) throw errors.applicationNotFound(name);
    return { name, description: '', createdDate: '2026-01-01T00:00:00.000Z' } as unknown as Application;
  },
  async getVersion(name: string): Promise<AppVersion> {
    if (name === 'other_v1') return { name, applicationName: 'other' } as unknown as AppVersion;
    if (!name.startsWith('app_')) throw errors.unknownAppVersion(name);
    return { name, applicationName: APP } as unknown as AppVersion;
  },
};

export interface Setup {
  clock: TestClock;
  bus: EventBus;
  fleet: FakeFleet;
  store: RolloutStorage;
  rollouts: RolloutService;
  /** Another node on the same storage and bus. */
  node(nodeId: string): RolloutService;
  /** Advances the clock and runs one driving round, then waits until reports are recorded. */
  step(ms: number, service?: RolloutService): Promise<void>;
}

export async function setup(t: Cleanup, settings: Partial<DriverSettings> = {}): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-rollouts-'));
  const store = await openSqliteRolloutStorage({ file: path.join(dir, 'rollouts.db') });
  const clock = createTestClock();
  const bus = createMemoryBus();
  const fleet = new FakeFleet(bus, clock);
  const services: RolloutService[] = [];
  const node = (nodeId: string) => {
    const service = new RolloutService({ store, software: fleet, bus, applications, endpoints: fleet.search(), nodeId, clock, settings: { timer: false, ...settings } });
    services.push(service);
    return service;
  };
  const rollouts = node('n1');
  t.after(async () => {
    for (const s of services) await s.close();
    await store.close();
    await bus.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    clock,
    bus,
    fleet,
    store,
    rollouts,
    node,
    async step(ms, service = rollouts) {
      clock.advance(ms);
      await service.tick();
      await service.settled();
    },
  };
}

/** SoftwareService on its own (a real SQLite store, the in-process bus): packages, offers in chunks, cleanup. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import { errors } from '../../src/core/errors.js';
import type { Applications } from '../../src/core/services.js';
import { type PackageSource, SoftwareService } from '../../src/software/service.js';
import { openSqliteSoftwareStorage } from '../../src/storage/sqlite/software.js';
import { createTestClock } from '../helpers/clock.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const APP = 'app';
const applications = {
  getApplication: async (name: string) => {
    if (name !== APP) throw errors.applicationNotFound(name);
    return { name: APP, description: '', createdDate: '' };
  },
  getVersion: async (name: string) => ({ name, applicationName: APP, registeredDate: '', extensions: ['cmx_ota'], metadataKeyAccess: {} }),
} as unknown as Applications;

async function setup(t: { after(fn: () => Promise<void> | void): void }, packages?: PackageSource) {
  const store = await openSqliteSoftwareStorage({ file: path.join(tempDir(t), 'software.db') });
  const bus = createMemoryBus();
  const clock = createTestClock();
  const service = new SoftwareService({
    store, bus, applications, clock, baseUrl: () => 'http://tether.example:8080',
    filters: { check: () => {}, matching: async () => new Set() },
    ...(packages && { packages }),
  });
  t.after(async () => {
    service.close();
    await store.close();
    await bus.close();
  });
  return { store, bus, service, clock };
}

test('a version with a package: devices get `package` in config (URL from the base URL), operators see its info; removing the version removes the package', async (t) => {
  const removed: string[] = [];
  const packages: PackageSource = {
    describeForDevice: async (app, version, baseUrl) => (version === '1.1.0' ? { url: `${baseUrl}/otao/api/v1/packages/${app}/${version}?sig=s`, sha256: 'ab', size: 3, fileName: 'fw.bin' } : undefined),
    info: async (_app, version) => (version === '1.1.0' ? { fileName: 'fw.bin', contentType: 'application/octet-stream', size: 3, sha256: 'ab', uploadedAt: '2026-01-01T00:00:00.000Z' } : undefined),
    removeIfAny: async (key) => {
      removed.push(key.version);
      return true;
    },
  };
  const { service } = await setup(t, packages);
  const record = await service.create(APP, '1.1.0', { upgradableFrom: ['*'], specification: { reboot: true }, rolloutStrategy: 'general' });
  assert.equal(record.package?.sha256, 'ab');
  assert.deepEqual(await service.delivery('e1', APP), {
    configId: '1.1.0',
    config: { reboot: true, package: { url: 'http://tether.example:8080/otao/api/v1/packages/app/1.1.0?sig=s', sha256: 'ab', size: 3, fileName: 'fw.bin' } },
  });
  await service.create(APP, '1.0.0', { upgradableFrom: ['*'], specification: {} });
  assert.equal((await service.get(APP, '1.0.0')).package, null);
  await service.remove(APP, '1.1.0');
  assert.deepEqual(removed, ['1.1.0']);
  assert.deepEqual(await service.delivery('e1', APP), { configId: '', config: null });
});

test('offer: every offer stored, then software.offered in chunks of at most 1000 endpoints; withdraw ends them', async (t) => {
  const { service, bus, store } = await setup(t);
  const events: Array<Extract<TetherEvent, { type: 'software.offered' }>> = [];
  t.after(bus.subscribe((e) => void (e.type === 'software.offered' && events.push(e))));
  await service.create(APP, '2.0.0', { upgradableFrom: ['*'], specification: {} });
  const ids = Array.from({ length: 2500 }, (_, i) => `e${i}`);
  await service.offer(APP, '2.0.0', ids, 'r1');
  await waitFor('three events', () => events.length, { until: (n) => n === 3 });
  assert.deepEqual(events.map((e) => e.endpointIds.length), [1000, 1000, 500]);
  assert.deepEqual(events.flatMap((e) => e.endpointIds), ids);
  assert.ok(events.every((e) => e.rolloutId === 'r1' && e.version === '2.0.0' && e.applicationName === APP));
  assert.equal((await service.next('e2499', APP))?.reason, 'offer');
  await service.withdraw('r1', ['e0']);
  assert.equal(await service.next('e0', APP), null);
  await service.withdraw('r1');
  assert.equal(await store.getOffer('e2499'), undefined);
  await assert.rejects(service.offer(APP, '9.0.0', ['e1'], 'r2'), (err: unknown) => (err as { code?: string }).code === 'SOFTWARE_NOT_FOUND');
});

test('a targeted filter counts from its rollout date on the injected clock', async (t) => {
  const matching: string[] = [];
  const store = await openSqliteSoftwareStorage({ file: path.join(tempDir(t), 'software.db') });
  const bus = createMemoryBus();
  const clock = createTestClock(Date.parse('2026-01-01T00:00:00.000Z'));
  const service = new SoftwareService({ store, bus, applications, clock, filters: { check: () => {}, matching: async (_app, _query, ids) => (matching.push(...ids), new Set(ids)) } });
  t.after(async () => {
    service.close();
    await store.close();
  });
  await service.create(APP, '1.0.0', { upgradableFrom: [''], specification: {}, rolloutStrategy: 'targeted', filters: [{ filterId: 'later', rolloutDate: '2026-01-02T00:00:00Z' }] });
  assert.equal(await service.next('e1', APP), null);
  assert.deepEqual(matching, [], 'a filter whose date has not come is not even evaluated');
  clock.advance(86_400_000);
  assert.equal((await service.next('e1', APP))?.reason, 'targeted');
});

test('endpoint and application deletions remove software state', async (t) => {
  const { service, bus, store } = await setup(t);
  await service.create(APP, '1.0.0', { upgradableFrom: [''], specification: {} });
  await service.report({ endpointId: 'e1', applicationName: APP, appVersionName: 'v1', version: '1.0.0', statusCode: 200, reasonPhrase: null });
  await bus.publish({ type: 'endpoint.deleted', endpointId: 'e1', applicationName: APP, at: '2026-01-01T00:00:00.000Z' });
  await waitFor('the endpoint state to go', () => store.getEndpointSoftware('e1'), { until: (s) => s === undefined });
  await bus.publish({ type: 'application.deleted', applicationName: APP, appVersionNames: ['v1'], at: '2026-01-01T00:00:00.000Z' });
  await waitFor('the versions to go', () => store.listSoftware(APP), { until: (l) => l.length === 0 });
});

/** A device cannot create time series without bound: extract-all makes one of every numeric field. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import { isTetherError } from '../../src/core/errors.js';
import type { Applications, Registry } from '../../src/core/services.js';
import type { AppVersion } from '../../src/core/types.js';
import { TimeSeriesService } from '../../src/time-series/service.js';
import { createTestClock } from '../helpers/clock.js';
import { TIME_SERIES_BACKENDS } from '../storage/backends.js';

const VERSION: AppVersion = { name: 'app_v1', applicationName: 'app', registeredDate: '2026-01-01T00:00:00.000Z', extensions: ['dcx'], metadataKeyAccess: {} };

test('an endpoint has at most maxSeriesPerEndpoint series: a batch adding more is refused whole, known series still take points', async (t) => {
  const opened = await TIME_SERIES_BACKENDS[0]!.open();
  const clock = createTestClock();
  const bus = createMemoryBus();
  const service = new TimeSeriesService({ storage: opened.storage, bus, applications: {} as Applications, registry: {} as Registry, clock, settings: { background: false, maxSeriesPerEndpoint: 3 } });
  t.after(async () => {
    await service.close();
    await bus.close();
    await opened.cleanup();
  });
  const names = (endpointId: string) => opened.storage.seriesNames('app', endpointId);
  const refused = (err: unknown) => isTetherError(err) && err.code === 'TIME_SERIES_LIMIT' && /has 2 time series; these data points would add 2 more, beyond the limit of 3/.test(err.message);

  assert.equal(await service.ingest(VERSION, 'e1', [{ a: 1, b: 2 }], clock.now()), 2);
  await assert.rejects(service.ingest(VERSION, 'e1', [{ a: 1, c: 3, d: 4 }], clock.now()), refused);
  assert.deepEqual(await names('e1'), ['auto~a', 'auto~b'], 'a refused batch stores nothing');
  assert.equal(await service.ingest(VERSION, 'e1', [{ a: 2, b: 3, c: 4 }], clock.now() + 1), 3);
  assert.equal(await service.ingest(VERSION, 'e1', [{ a: 3, b: 4, c: 5 }], clock.now() + 2), 3, 'known series go on taking points');
  await assert.rejects(service.ingest(VERSION, 'e1', [{ z: 1 }], clock.now()), (err: unknown) => isTetherError(err) && err.code === 'TIME_SERIES_LIMIT');
  // The limit is per endpoint.
  assert.equal(await service.ingest(VERSION, 'e2', [{ x: 1, y: 2, z: 3 }], clock.now()), 3);

  // A new service (a restart, another node) reads what the endpoint already has.
  const again = new TimeSeriesService({ storage: opened.storage, bus, applications: {} as Applications, registry: {} as Registry, clock, settings: { background: false, maxSeriesPerEndpoint: 3 } });
  t.after(() => again.close());
  await assert.rejects(again.ingest(VERSION, 'e1', [{ d: 1 }], clock.now()), (err: unknown) => isTetherError(err) && err.code === 'TIME_SERIES_LIMIT');

  // A deleted endpoint's series are gone, and so is its count.
  await opened.storage.deleteEndpoint('e2');
  await bus.publish({ type: 'endpoint.deleted', endpointId: 'e2', applicationName: 'app', at: new Date(clock.now()).toISOString() });
  assert.equal(await service.ingest(VERSION, 'e2', [{ p: 1, q: 2, r: 3 }], clock.now()), 3);
});

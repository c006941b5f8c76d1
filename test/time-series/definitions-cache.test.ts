/** Nodes sharing a database each cache the time series definitions; another node's change reaches them. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import type { Applications, Registry } from '../../src/core/services.js';
import type { DefinitionsDoc, TimeSeriesStorage } from '../../src/storage/time-series.js';
import { TimeSeriesService } from '../../src/time-series/service.js';
import { createTestClock } from '../helpers/clock.js';

test('definitions: a change stored by another node is used here once the cached copy is 5 s old', async (t) => {
  const stored = new Map<string, DefinitionsDoc>();
  const storage = {
    getDefinitions: async (app: string) => stored.get(app),
    putDefinitions: async (app: string, doc: DefinitionsDoc) => void stored.set(app, doc),
  } as unknown as TimeSeriesStorage;
  const clock = createTestClock();
  const bus = createMemoryBus();
  const service = new TimeSeriesService({ storage, bus, applications: {} as Applications, registry: {} as Registry, clock, settings: { background: false } });
  t.after(async () => {
    await service.close();
    await bus.close();
  });

  assert.deepEqual((await service.getDefinitions('app')).timeSeries, []);
  // Another node's PUT: only the shared storage changes.
  stored.set('app', { retentionDays: 30, timeSeries: [{ name: 'Temperature', valueField: 'temperature', tagFields: [] }] });
  clock.advance(4999);
  assert.deepEqual((await service.getDefinitions('app')).timeSeries, [], 'a copy younger than 5 s is used as is');
  clock.advance(1);
  const fresh = await service.getDefinitions('app');
  assert.equal(fresh.retentionDays, 30);
  assert.deepEqual(fresh.timeSeries.map((s) => s.name), ['Temperature']);
});

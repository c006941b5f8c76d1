import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import { busConformance } from './conformance.js';

busConformance('memory', async () => {
  const bus = createMemoryBus();
  return { bus, cleanup: () => bus.close() };
});

test('memory bus: delivers in a microtask, before any timer', async () => {
  const bus = createMemoryBus();
  const order: string[] = [];
  bus.subscribe(() => order.push('handler'));
  setTimeout(() => order.push('timer'), 0);
  await bus.publish({ type: 'endpoint.deleted', endpointId: 'e', applicationName: 'a', at: '2026-01-01T00:00:00.000Z' });
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(order, ['handler', 'timer']);
  await bus.close();
});

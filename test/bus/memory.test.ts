import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';

// The conformance suite runs on every bus from conformance.test.ts (backends.ts).

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

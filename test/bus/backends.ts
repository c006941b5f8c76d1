import { randomBytes } from 'node:crypto';
import type { EventBus } from '../../src/bus/bus.js';
import { createMemoryBus } from '../../src/bus/memory/index.js';
import { connectNatsBus } from '../../src/bus/nats/index.js';
import { sharedNats } from '../helpers/engines.js';
import { testBackendKind } from '../storage/backends.js';

/** Every EventBus implementation: the conformance suite runs once per entry. */
export interface BusBackend {
  name: string;
  /** Opens `count` buses that are nodes of one platform (count 1: one bus). */
  open(count: number): Promise<EventBus[]>;
}

export const BUS_BACKENDS: readonly BusBackend[] = [
  { name: 'memory', open: async () => [createMemoryBus()] },
  {
    name: 'nats',
    async open(count) {
      const url = await sharedNats();
      // A prefix per test keeps tests on the shared server apart.
      const prefix = `t${randomBytes(4).toString('hex')}`;
      return Promise.all(Array.from({ length: count }, (_, i) => connectNatsBus({ url, nodeId: `node-${i + 1}`, prefix })));
    },
  },
];

/** The bus of the selected pair (TETHER_TEST_BACKEND, test/storage/backends.ts): memory with SQLite, NATS with PostgreSQL. */
export function testBusBackend(): BusBackend {
  return BUS_BACKENDS.find((b) => b.name === (testBackendKind() === 'postgres' ? 'nats' : 'memory'))!;
}

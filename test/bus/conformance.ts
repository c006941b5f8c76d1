import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { EventBus, TetherEvent } from '../../src/bus/bus.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The behaviour every EventBus must have for subscribers in the same process. A NATS bus adds its
 * own test file calling this with a function that connects to a test server.
 */
export interface OpenedBus {
  bus: EventBus;
  cleanup: () => Promise<void>;
}

const event = (endpointId: string): TetherEvent => ({
  type: 'endpoint.created',
  endpointId,
  applicationName: 'demo_application',
  at: '2026-01-01T00:00:00.000Z',
});

export function busConformance(name: string, open: () => Promise<OpenedBus>): void {
  async function withBus(fn: (bus: EventBus) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.bus);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`EventBus conformance: ${name}`, () => {
    test('every subscriber receives every event, in publish order, as plain JSON', () =>
      withBus(async (bus) => {
        const a: TetherEvent[] = [];
        const b: TetherEvent[] = [];
        bus.subscribe((e) => a.push(e));
        bus.subscribe((e) => b.push(e));
        const sent: TetherEvent[] = [
          event('e1'),
          { type: 'metadata.updated', endpointId: 'e1', applicationName: 'app', at: '2026-01-01T00:00:01.000Z', metadata: { k: [1, { x: 'ü' }] } },
          { type: 'connectivity.changed', endpointId: 'e1', applicationName: 'app', connected: true, at: '2026-01-01T00:00:02.000Z' },
          {
            type: 'token.status-changed',
            endpointId: 'e1',
            applicationName: 'app',
            tokenId: 't1',
            tokenHash: 'abc',
            status: 'REVOKED',
            at: '2026-01-01T00:00:03.000Z',
          },
          { type: 'endpoint.deleted', endpointId: 'e1', applicationName: 'app', at: '2026-01-01T00:00:04.000Z' },
        ];
        for (const e of sent) await bus.publish(e);
        await waitFor('both subscribers', () => a.length === sent.length && b.length === sent.length);
        assert.deepEqual(a, sent);
        assert.deepEqual(b, sent);
      }));

    test('handlers run after publish returns, never inside it', () =>
      withBus(async (bus) => {
        let calls = 0;
        bus.subscribe(() => calls++);
        const published = bus.publish(event('e1'));
        assert.equal(calls, 0);
        await published;
        await waitFor('delivery', () => calls === 1);
      }));

    test('a throwing handler does not affect the publisher or other handlers', () =>
      withBus(async (bus) => {
        const received: string[] = [];
        bus.subscribe(() => {
          throw new Error('subscriber bug');
        });
        bus.subscribe((e) => received.push('endpointId' in e ? e.endpointId : ''));
        await bus.publish(event('e1'));
        await bus.publish(event('e2'));
        await waitFor('the healthy handler', () => received.length === 2);
        assert.deepEqual(received, ['e1', 'e2']);
      }));

    test('unsubscribing stops delivery to that handler only; the same function can subscribe twice', () =>
      withBus(async (bus) => {
        const removed: string[] = [];
        const kept: string[] = [];
        const handler = (e: TetherEvent) => removed.push('endpointId' in e ? e.endpointId : '');
        const unsubscribe = bus.subscribe(handler);
        const unsubscribeTwin = bus.subscribe(handler);
        bus.subscribe((e) => kept.push('endpointId' in e ? e.endpointId : ''));
        await bus.publish(event('e1'));
        await waitFor('first event', () => kept.length === 1);
        assert.deepEqual(removed, ['e1', 'e1']);
        unsubscribe();
        unsubscribe();
        await bus.publish(event('e2'));
        await waitFor('second event', () => kept.length === 2);
        assert.deepEqual(removed, ['e1', 'e1', 'e2']);
        unsubscribeTwin();
        await bus.publish(event('e3'));
        await waitFor('third event', () => kept.length === 3);
        assert.deepEqual(removed, ['e1', 'e1', 'e2']);
      }));

    test('publish after close rejects with UNAVAILABLE', () =>
      withBus(async (bus) => {
        await bus.close();
        await assert.rejects(bus.publish(event('e1')), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
      }));

    test('kind names the implementation', () =>
      withBus(async (bus) => {
        assert.equal(typeof bus.kind, 'string');
        assert.ok(bus.kind.length > 0);
      }));
  });
}

import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import { BUS_BACKENDS } from './backends.js';
import { waitFor } from '../helpers/wait.js';
import { busConformance } from './conformance.js';

for (const backend of BUS_BACKENDS) {
  busConformance(backend.name, async () => {
    const [bus] = await backend.open(1);
    return { bus: bus!, cleanup: () => bus!.close() };
  });
}

const at = '2026-01-01T00:00:00.000Z';

test('nats bus: events cross nodes once each, durable ones too; a node hears its own events once', async () => {
  const backend = BUS_BACKENDS.find((b) => b.name === 'nats')!;
  const [a, b] = await backend.open(2);
  try {
    const onA: TetherEvent[] = [];
    const onB: TetherEvent[] = [];
    a!.subscribe((e) => onA.push(e));
    b!.subscribe((e) => onB.push(e));
    const live: TetherEvent = { type: 'connectivity.changed', endpointId: 'e1', applicationName: 'app', connected: true, at };
    const durable: TetherEvent = { type: 'token.status-changed', endpointId: 'e1', applicationName: 'app', tokenId: 't', tokenHash: 'h', status: 'REVOKED', at };
    const takeover: TetherEvent = { type: 'session.started', clientId: 'c1', nodeId: 'node-2', at };
    await a!.publish(live);
    await a!.publish(durable);
    await b!.publish(takeover);
    await waitFor('both nodes', () => onB.length === 3 && onA.length === 3, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(onA, [live, durable, takeover]);
    assert.deepEqual(new Set(onB.map((e) => e.type)), new Set(['connectivity.changed', 'token.status-changed', 'session.started']));
    assert.equal(onB.length, 3);
  } finally {
    await Promise.all([a!.close(), b!.close()]);
  }
});

test('nats bus: a localOnly subscriber hears its own node\'s events, not other nodes\'', async () => {
  const backend = BUS_BACKENDS.find((b) => b.name === 'nats')!;
  const [a, b] = await backend.open(2);
  try {
    const all: TetherEvent[] = [];
    const local: TetherEvent[] = [];
    b!.subscribe((e) => all.push(e));
    b!.subscribe((e) => local.push(e), { localOnly: true });
    const fromA: TetherEvent = { type: 'metadata.updated', endpointId: 'e1', applicationName: 'app', at, metadata: { a: 1 } };
    const fromB: TetherEvent = { type: 'metadata.updated', endpointId: 'e2', applicationName: 'app', at, metadata: { b: 2 } };
    await a!.publish(fromA);
    await waitFor("node A's event on node B", () => all.length === 1, 10_000);
    await b!.publish(fromB);
    await waitFor("node B's own event", () => all.length === 2 && local.length === 1, 10_000);
    assert.deepEqual(local, [fromB]);
  } finally {
    await Promise.all([a!.close(), b!.close()]);
  }
});

test('nats bus: an unreachable server fails the start with one line naming the URL', async () => {
  const { connectNatsBus } = await import('../../src/bus/nats/index.js');
  await assert.rejects(connectNatsBus({ url: 'nats://127.0.0.1:1', nodeId: 'x' }), (err: Error) => {
    assert.match(err.message, /Cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
    assert.match(err.message, /--nats-url/);
    return true;
  });
});

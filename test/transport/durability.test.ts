import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import { errors } from '../../src/core/errors.js';
import { within } from '../helpers/wait.js';
import type { Storage } from '../../src/storage/storage.js';
import { Inbox, connect, createEndpoint, kpTopic, startHarness } from './harness.js';
import type { Harness } from './harness.js';

/**
 * Storage whose metadata writes take a few extra event-loop turns and record what has committed,
 * so an acknowledgement sent before the commit would be seen.
 */
function slowCommits(committed: Set<string>) {
  return (storage: Storage): Storage =>
    new Proxy(storage, {
      get(target, prop, receiver) {
        if (prop === 'changeMetadata') {
          const change: Storage['changeMetadata'] = async (endpointId, metadataChange, at) => {
            for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
            // Stands in for a disk that fails the commit (full, I/O error).
            if (metadataChange.kind !== 'delete' && 'fail_commit' in metadataChange.metadata) throw new Error('disk I/O error');
            // Stands in for a database that is away (PostgreSQL restarting).
            if (metadataChange.kind !== 'delete' && 'db_away' in metadataChange.metadata) throw errors.unavailable(new Error('Connection terminated unexpectedly'));
            const result = await target.changeMetadata(endpointId, metadataChange, at);
            if (metadataChange.kind !== 'delete') for (const key of Object.keys(metadataChange.metadata)) committed.add(key);
            return result;
          };
          return change;
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
}

describe('durability', () => {
  let h: Harness;
  const committed = new Set<string>();
  before(async () => {
    h = await startHarness({ wrapStorage: slowCommits(committed) });
  });
  after(() => h.close());

  for (const qos of [1, 2] as const) {
    it(`acknowledges a QoS ${qos} update only after it is committed`, async () => {
      const ep = await createEndpoint(h);
      const client = await connect(h);
      const n = 40;
      const acked = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const key = `q${qos}_k${i}`;
          await client.publishAsync(kpTopic(ep.token, 'update/keys'), JSON.stringify({ [key]: i }), { qos });
          // Checked the moment the acknowledgement arrives.
          return { key, committedAtAck: committed.has(key) };
        }),
      );
      for (const { key, committedAtAck } of acked) assert.ok(committedAtAck, `${key} was acknowledged before its commit`);
      const stored = await h.services.storage.getMetadata(ep.endpointId);
      for (let i = 0; i < n; i++) assert.equal(stored?.[`q${qos}_k${i}`], i);
    });
  }

  it('does not acknowledge a QoS 1 update whose commit failed, and closes the connection so the device resends', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const received: string[] = [];
    client.on('packetreceive', (packet) => received.push(packet.cmd));
    const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(true)));
    client.publish(kpTopic(ep.token, 'update/keys', 7), '{"fail_commit":1}', { qos: 1 });
    const deadline = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
    assert.ok(await Promise.race([closed, deadline]), 'the connection stayed open');
    assert.ok(!received.includes('puback'), `got ${received.join(', ')}`);
    assert.equal((await h.services.storage.getMetadata(ep.endpointId))?.['fail_commit'], undefined);
  });

  it('keeps a 3.1.1 connection when the database is away: no PUBACK, an /error saying so, and later updates acknowledged', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const inbox = new Inbox(client);
    const received: string[] = [];
    client.on('packetreceive', (packet) => received.push(packet.cmd));
    let closed = false;
    client.once('close', () => (closed = true));
    const topic = kpTopic(ep.token, 'update/keys', 8);
    client.publish(topic, '{"db_away":1}', { qos: 1 });
    const error = JSON.parse((await inbox.next(`${topic}/error`)).payload.toString()) as { statusCode: number; reasonPhrase: string };
    assert.equal(error.statusCode, 503);
    assert.match(error.reasonPhrase, /unavailable/i);
    // The update after it is stored and acknowledged on the same connection.
    assert.equal(closed, false, 'the connection was closed');
    await within('the PUBACK of the next update', client.publishAsync(kpTopic(ep.token, 'update/keys'), '{"after_outage":1}', { qos: 1 }));
    assert.equal(received.filter((cmd) => cmd === 'puback').length, 1, `got ${received.join(', ')}`);
    const stored = await h.services.storage.getMetadata(ep.endpointId);
    assert.equal(stored?.['db_away'], undefined);
    assert.equal(stored?.['after_outage'], 1);
  });

  it('sends the /status reply only after the commit', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const inbox = new Inbox(client);
    const topic = kpTopic(ep.token, 'update/keys', 1);
    let committedAtReply: boolean | undefined;
    client.on('message', (t) => {
      if (t === `${topic}/status`) committedAtReply = committed.has('status_key');
    });
    client.publish(topic, '{"status_key":true}', { qos: 0 });
    await inbox.next(`${topic}/status`);
    assert.equal(committedAtReply, true);
  });
});

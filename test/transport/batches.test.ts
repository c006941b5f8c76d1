import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import type { IPublishPacket } from 'mqtt-packet';
import { after, before, describe, it } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';
import { createEndpoint, kpTopic, reversedLookups, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { RawClient } from './raw.js';

/**
 * Requests that reach the server in one socket write are decoded in one turn of the event loop, so
 * they are handled as one batch. A batch must answer every request on its own, whatever its
 * neighbours do, and keep one device's requests in the order it sent them.
 */

interface Request {
  topic: string;
  payload: string;
  messageId: number;
}

function publishBytes(requests: Request[]): Buffer {
  return Buffer.concat(
    requests.map((r) =>
      mqttPacket.generate({ cmd: 'publish', topic: r.topic, payload: Buffer.from(r.payload), qos: 1, messageId: r.messageId, retain: false, dup: false }),
    ),
  );
}

/** The server's PUBLISHes (1/KP replies) this client has received so far, in arrival order. */
function replies(client: RawClient): IPublishPacket[] {
  return client.all('publish');
}

/** Waits until every request has a `/status` or `/error` reply and a PUBACK, then acknowledges the replies. */
async function awaitAnswers(client: RawClient, requests: Request[]): Promise<void> {
  const answered = (r: Request) => replies(client).some((p) => p.topic === `${r.topic}/status` || p.topic === `${r.topic}/error`);
  const acked = (r: Request) => client.all('puback').some((p) => p.messageId === r.messageId);
  await waitFor(
    'a reply and a PUBACK for every request of the batch',
    () => requests.filter((r) => !answered(r) || !acked(r)).map((r) => r.topic),
    { until: (missing) => missing.length === 0, timeoutMs: 10_000 },
  );
  for (const p of replies(client)) if (p.qos === 1 && p.messageId !== undefined) client.send({ cmd: 'puback', messageId: p.messageId });
}

/** The single reply to `topic`: fails if there is none, or a second one, or both kinds. */
function onlyReply(client: RawClient, topic: string): { kind: 'status' | 'error'; json: unknown } {
  const mine = replies(client).filter((p) => p.topic === `${topic}/status` || p.topic === `${topic}/error`);
  assert.equal(mine.length, 1, `replies to ${topic}: ${mine.map((p) => p.topic).join(', ')}`);
  const reply = mine[0]!;
  const text = reply.payload.toString('utf8');
  return { kind: reply.topic.endsWith('/status') ? 'status' : 'error', json: text === '' ? undefined : JSON.parse(text) };
}

function assertError(client: RawClient, topic: string, statusCode: number, reason: RegExp): void {
  const reply = onlyReply(client, topic);
  assert.equal(reply.kind, 'error', `${topic} was answered with /status`);
  const body = reply.json as { statusCode: number; reasonPhrase: string };
  assert.equal(body.statusCode, statusCode, `${topic}: ${body.reasonPhrase}`);
  assert.match(body.reasonPhrase, reason);
}

function assertStatus(client: RawClient, topic: string): unknown {
  const reply = onlyReply(client, topic);
  assert.equal(reply.kind, 'status', `${topic} was answered with ${JSON.stringify(reply.json)}`);
  return reply.json;
}

/**
 * A harness started before the tests of the enclosing describe (closed after them), and raw 3.1.1
 * devices connected to it on demand.
 */
function harnessWithDevices(options: Parameters<typeof startHarness>[0]): { harness: () => Harness; device: () => Promise<RawClient> } {
  let h: Harness | undefined;
  const clients: RawClient[] = [];
  before(async () => {
    h = await startHarness(options);
  });
  after(async () => {
    for (const c of clients) c.close();
    await h?.close();
  });
  return {
    harness: () => h!,
    async device() {
      const { client, connack } = await RawClient.connected(h!.port, 4);
      clients.push(client);
      assert.equal(connack.returnCode, 0);
      return client;
    },
  };
}

/** `requests` sent by one new device in one socket write; resolves once each has its reply and PUBACK. */
async function sentInOneWrite(device: () => Promise<RawClient>, requests: Request[]): Promise<RawClient> {
  const client = await device();
  client.write(publishBytes(requests));
  await awaitAnswers(client, requests);
  return client;
}

/** Every request answered with `/status`, in the order the requests were sent. */
function assertStatusRepliesInOrder(client: RawClient, requests: Request[]): void {
  assert.deepEqual(
    replies(client).map((p) => p.topic),
    requests.map((r) => `${r.topic}/status`),
  );
}

/** Every PUBACK carries one of the batch's packet IDs, each exactly once. */
function assertEachAckedOnce(client: RawClient, requests: Request[]): void {
  const ids = client.all('puback').map((p) => p.messageId).sort((a, b) => (a ?? 0) - (b ?? 0));
  assert.deepEqual(ids, requests.map((r) => r.messageId).sort((a, b) => a - b));
}

describe('a batch in which some requests fail', () => {
  // A small key limit, so one request of the batch can go over it.
  const { harness, device } = harnessWithDevices({ limits: { maxMetadataKeys: 3 } });

  /** Five requests of one device, numbered from `firstId`: two valid, three failing in three ways. */
  function mixedBatch(token: string, firstId: number, keyPrefix: string) {
    const topic = (i: number) => kpTopic(i === 1 ? `unknown-${keyPrefix}-token` : token, 'update/keys', firstId + i);
    const overLimit = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`${keyPrefix}_over${i}`, i]));
    const requests: Request[] = [
      { topic: topic(0), payload: JSON.stringify({ [`${keyPrefix}_first`]: 1 }), messageId: firstId },
      { topic: topic(1), payload: JSON.stringify({ [`${keyPrefix}_stranger`]: 1 }), messageId: firstId + 1 },
      { topic: topic(2), payload: '{"not json', messageId: firstId + 2 },
      { topic: topic(3), payload: JSON.stringify(overLimit), messageId: firstId + 3 },
      { topic: topic(4), payload: JSON.stringify({ [`${keyPrefix}_second`]: 2 }), messageId: firstId + 4 },
      { topic: kpTopic(token, 'update/keys', firstId + 5), payload: JSON.stringify([`${keyPrefix}_array`]), messageId: firstId + 5 },
    ];
    return requests;
  }

  function assertMixedAnswers(client: RawClient, requests: Request[]): void {
    const [first, unknown, notJson, overLimit, second, array] = requests as [Request, Request, Request, Request, Request, Request];
    assertStatus(client, first.topic);
    assertError(client, unknown.topic, 401, /token is not known/i);
    assertError(client, notJson.topic, 400, /not valid UTF-8 JSON/);
    assertError(client, overLimit.topic, 400, /more than 3 metadata keys/);
    assertStatus(client, second.topic);
    assertError(client, array.topic, 400, /not a 10\/EPMP update request/);
    assertEachAckedOnce(client, requests);
    assert.equal(replies(client).length, requests.length, `replies: ${replies(client).map((p) => p.topic).join(', ')}`);
  }

  it('answers each request of one write on its own and commits only the valid ones', async () => {
    const ep = await createEndpoint(harness());
    const client = await device();
    const requests = mixedBatch(ep.token, 10, 'one');
    client.write(publishBytes(requests));
    await awaitAnswers(client, requests);
    assertMixedAnswers(client, requests);
    assert.deepEqual(await harness().services.storage.getMetadata(ep.endpointId), { one_first: 1, one_second: 2 });
    assert.deepEqual(await harness().services.registry.getMetadata(ep.endpointId, 'operator'), { one_first: 1, one_second: 2 });
    assert.ok(!client.isClosed(), 'the connection was closed');
  });

  it('answers two devices whose failing batches arrive together, each with its own replies', async () => {
    const a = await createEndpoint(harness());
    const b = await createEndpoint(harness());
    const [ca, cb] = [await device(), await device()];
    const ra = mixedBatch(a.token, 20, 'a');
    const rb = mixedBatch(b.token, 20, 'b');
    // Same request IDs and packet IDs on both connections: only the token and the connection tell them apart.
    ca.write(publishBytes(ra));
    cb.write(publishBytes(rb));
    await Promise.all([awaitAnswers(ca, ra), awaitAnswers(cb, rb)]);
    assertMixedAnswers(ca, ra);
    assertMixedAnswers(cb, rb);
    assert.deepEqual(await harness().services.storage.getMetadata(a.endpointId), { a_first: 1, a_second: 2 });
    assert.deepEqual(await harness().services.storage.getMetadata(b.endpointId), { b_first: 1, b_second: 2 });
  });

  it('keeps serving the device after the failed batch', async () => {
    const ep = await createEndpoint(harness());
    const client = await device();
    const first = mixedBatch(ep.token, 30, 'again');
    client.write(publishBytes(first));
    await awaitAnswers(client, first);
    const get: Request = { topic: kpTopic(ep.token, 'get', 99), payload: '', messageId: 99 };
    client.write(publishBytes([get]));
    await awaitAnswers(client, [get]);
    assert.deepEqual(assertStatus(client, get.topic), { again_first: 1, again_second: 2 });
  });
});

// The same requests again with token look-ups that finish out of order: the order a device sent
// them in must not depend on which look-up happens to finish first.
for (const lookups of ['plain', 'finishing in reverse order'] as const) {
  describe(`one device's requests within one batch (token look-ups ${lookups})`, () => {
    const { harness, device } = harnessWithDevices(lookups === 'plain' ? {} : { wrapServices: reversedLookups });

    it('applies two updates of one key in order, a get after them sees the second, and replies come in request order', async () => {
      const ep = await createEndpoint(harness());
      const requests: Request[] = [
        { topic: kpTopic(ep.token, 'update/keys', 1), payload: '{"v":1}', messageId: 1 },
        { topic: kpTopic(ep.token, 'update/keys', 2), payload: '{"v":2}', messageId: 2 },
        { topic: kpTopic(ep.token, 'get', 3), payload: '', messageId: 3 },
      ];
      const client = await sentInOneWrite(device, requests);
      assertStatus(client, requests[0]!.topic);
      assertStatus(client, requests[1]!.topic);
      assert.deepEqual(assertStatus(client, requests[2]!.topic), { v: 2 });
      assertStatusRepliesInOrder(client, requests);
      assert.deepEqual(await harness().services.storage.getMetadata(ep.endpointId), { v: 2 });
    });

    it('applies a full update and then a key update of the same write in that order', async () => {
      const ep = await createEndpoint(harness(), { old: 1, b: 0 });
      const requests: Request[] = [
        { topic: kpTopic(ep.token, 'update', 1), payload: '{"a":1,"b":1}', messageId: 1 },
        { topic: kpTopic(ep.token, 'update/keys', 2), payload: '{"b":2,"c":3}', messageId: 2 },
        { topic: kpTopic(ep.token, 'get', 3), payload: '', messageId: 3 },
      ];
      const client = await sentInOneWrite(device, requests);
      // In the other order the full update would have removed c and put b back to 1.
      const expected = { a: 1, b: 2, c: 3 };
      assert.deepEqual(assertStatus(client, requests[2]!.topic), expected);
      assertStatusRepliesInOrder(client, requests);
      assert.deepEqual(await harness().services.storage.getMetadata(ep.endpointId), expected);
    });

    it('keeps the order of a long run of updates of one key in one write', async () => {
      const ep = await createEndpoint(harness());
      const requests: Request[] = Array.from({ length: 40 }, (_, i) => ({ topic: kpTopic(ep.token, 'update/keys', i + 1), payload: JSON.stringify({ n: i }), messageId: i + 1 }));
      requests.push({ topic: kpTopic(ep.token, 'get', 41), payload: '{"keys":["n"]}', messageId: 41 });
      const client = await sentInOneWrite(device, requests);
      assert.deepEqual(assertStatus(client, requests[40]!.topic), { n: 39 });
      assertStatusRepliesInOrder(client, requests);
      assert.deepEqual(await harness().services.storage.getMetadata(ep.endpointId), { n: 39 });
    });
  });
}

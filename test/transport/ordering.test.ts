import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import { Inbox, connect, createEndpoint, kpTopic, reversedLookups, startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('request order', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wrapServices: reversedLookups });
  });
  after(() => h.close());

  it('hands one token\'s requests to the extension in arrival order, even when lookups finish out of order', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const inbox = new Inbox(client);
    for (let i = 0; i < 30; i++) client.publish(kpTopic(ep.token, 'update/keys'), JSON.stringify({ counter: i }), { qos: 0 });
    const get = kpTopic(ep.token, 'get', 1);
    client.publish(get, '', { qos: 0 });
    await inbox.next(`${get}/status`);
    assert.deepEqual(inbox.json(`${get}/status`), { counter: 29 });
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { counter: 29 });
  });
});

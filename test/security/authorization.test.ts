import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import type { MqttClient } from 'mqtt';
import { BARE_VERSION, DEMO_VERSION, Inbox, OTHER_VERSION, connect, createEndpoint, kpTopic, request, snapshot, startSecure } from './harness.js';
import type { SecureHarness } from './harness.js';
import { waitFor, within } from '../helpers/wait.js';

type ErrorBody = { statusCode: number; reasonPhrase: string };

/** The SUBACK return codes for the filters (128 = refused). mqtt.js rejects when any is refused. */
async function granted(client: MqttClient, filters: string[]): Promise<number[]> {
  return client.subscribeAsync(filters, { qos: 1 }).then(
    (grants) => grants.map((g) => g.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? assert.fail(`no SUBACK: ${String(err)}`),
  );
}

describe('authorization', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure();
  });
  after(() => h.close());

  it('grants a subscription under a token of the version\'s application', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    assert.deepEqual(await granted(client, [`kp1/${DEMO_VERSION}/epmx/${ep.token}/#`, `kp1/${DEMO_VERSION}/epmx/${ep.token}/+/+/status`]), [1, 1]);
  });

  it('refuses wildcards above the token level, #, kp1/# and non-1/KP filters', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const filters = [
      '#',
      'kp1/#',
      '+/#',
      `kp1/+/epmx/${ep.token}/#`,
      `kp1/${DEMO_VERSION}/+/${ep.token}/#`,
      `kp1/${DEMO_VERSION}/epmx/+/#`,
      `kp1/${DEMO_VERSION}/epmx/#`,
      `kp1/${DEMO_VERSION}/#`,
      '$SYS/#',
      'other/topic',
    ];
    assert.deepEqual(await granted(client, filters), filters.map(() => 128));
    assert.ok(!client.disconnected, 'a refused subscription does not end the connection');
  });

  it('refuses unknown, suspended, revoked and foreign tokens, unknown versions and disabled extensions', async () => {
    const suspended = await createEndpoint(h);
    await h.services.credentials.changeTokenStatus(suspended.endpointId, suspended.tokenId, 'suspend');
    const revoked = await createEndpoint(h);
    await h.services.credentials.changeTokenStatus(revoked.endpointId, revoked.tokenId, 'revoke');
    const foreign = await createEndpoint(h, undefined, OTHER_VERSION);
    const mine = await createEndpoint(h);
    const client = await connect(h);
    const filters = [
      `kp1/${DEMO_VERSION}/epmx/no-such-token/#`,
      `kp1/${DEMO_VERSION}/epmx/${suspended.token}/#`,
      `kp1/${DEMO_VERSION}/epmx/${revoked.token}/#`,
      // A token of another application is unknown in this one.
      `kp1/${DEMO_VERSION}/epmx/${foreign.token}/#`,
      `kp1/no_such_version/epmx/${mine.token}/#`,
      `kp1/${BARE_VERSION}/epmx/${mine.token}/#`,
      `kp1/${DEMO_VERSION}/dcx/${mine.token}/#`,
    ];
    assert.deepEqual(await granted(client, filters), filters.map(() => 128));
    // The refusals say why in the log, never with the token.
    const refusals = h.logs.filter((r) => r.msg === 'subscription refused');
    assert.ok(refusals.length > 0);
    for (const token of [suspended.token, revoked.token, foreign.token, mine.token]) assert.ok(!JSON.stringify(h.logs).includes(token), 'a token was logged');
  });

  it('answers a publish with another application\'s token 401 and changes nothing', async () => {
    const foreign = await createEndpoint(h, { owner: 'other' }, OTHER_VERSION);
    const client = await connect(h);
    const inbox = new Inbox(client);
    const before = await snapshot(h);
    const reply = await request(client, inbox, kpTopic(foreign.token, 'update', 1, DEMO_VERSION), '{"owner":"me"}');
    assert.equal((reply.json() as ErrorBody).statusCode, 401);
    const disabled = await request(client, inbox, kpTopic(foreign.token, 'update', 2, BARE_VERSION), '{"owner":"me"}');
    assert.equal((disabled.json() as ErrorBody).statusCode, 404);
    assert.deepEqual(await snapshot(h), before);
  });

  it('ends a subscriber\'s session when its token is suspended', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    assert.deepEqual(await granted(client, [`kp1/${DEMO_VERSION}/epmx/${ep.token}/#`]), [1]);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await h.services.credentials.changeTokenStatus(ep.endpointId, ep.tokenId, 'suspend');
    await within('the server to close the session', closed);
  });

  it('never shows one endpoint\'s traffic to another endpoint\'s session', async () => {
    const victim = await createEndpoint(h, { secret: 'victim-data' });
    const snoop = await createEndpoint(h);
    const spy = await connect(h, { clientId: 'spy' });
    const spyInbox = new Inbox(spy);
    // Everything the spy could think of; only its own token's filters are granted.
    const guesses = [
      '#', '+', '+/+', '+/+/+/+/#', 'kp1/#', 'kp1/+/#', `kp1/${DEMO_VERSION}/#`, `kp1/${DEMO_VERSION}/epmx/#`,
      `kp1/${DEMO_VERSION}/epmx/+/#`, `kp1/${DEMO_VERSION}/epmx/+/get/+/status`, '$SYS/#', 'kp1/+/+/+/+/+/status',
      `kp1/${DEMO_VERSION}/epmx/${snoop.token}/#`,
    ];
    const grants = await granted(spy, guesses);
    assert.deepEqual(grants.slice(0, -1), guesses.slice(0, -1).map(() => 128));
    assert.equal(grants.at(-1), 1);
    // The spy also tries to publish "responses" and requests with a wildcard token.
    spy.publish(`kp1/${DEMO_VERSION}/epmx/${victim.token}x/get/1/status`, '{"fake":true}', { qos: 1 });

    const device = await connect(h, { clientId: 'victim' });
    const inbox = new Inbox(device);
    assert.equal((await request(device, inbox, kpTopic(victim.token, 'update/keys', 1), '{"pin":"1234"}')).kind, 'status');
    const read = await request(device, inbox, kpTopic(victim.token, 'get', 2), '');
    assert.deepEqual(read.json(), { secret: 'victim-data', pin: '1234' });
    assert.equal((await request(device, inbox, kpTopic(victim.token, 'nope', 3), '')).kind, 'error');
    // A barrier on the spy's own token: replies on one connection arrive in order, so anything
    // of the victim's published before it would have arrived by now.
    assert.equal((await request(spy, spyInbox, kpTopic(snoop.token, 'get', 99), '')).kind, 'status');
    const leaked = spyInbox.messages.filter((m) => m.topic.split('/')[3] === victim.token || m.payload.toString().includes('victim-data') || m.payload.toString().includes('1234'));
    assert.deepEqual(leaked.map((m) => m.topic), []);
    assert.ok(spyInbox.messages.every((m) => m.topic.includes(snoop.token) || m.topic.endsWith('/error')), 'the spy received only its own replies');
    await waitFor('the reply to the fake response', () => spyInbox.messages.some((m) => m.topic.includes(`${victim.token}x`)));
    // Its own publish got an /error reply (unknown token), never forwarded as a message to anyone.
    assert.ok(!inbox.messages.some((m) => m.topic.includes('fake') || m.payload.toString().includes('fake')));
  });
});

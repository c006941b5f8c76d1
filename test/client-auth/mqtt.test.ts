import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { Inbox, connect, endpoint, kpTopic, refusedCode, request, startAuthHarness } from './harness.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'correct-horse-battery';

test('anonymous (the default): a client without credentials connects and its token requests work', async () => {
  const h = await startAuthHarness();
  try {
    const { token } = await endpoint(h);
    const client = await connect(h);
    const inbox = new Inbox(client);
    await client.subscribeAsync(`${kpTopic(token, 'update/keys')}/#`);
    const reply = await request(client, inbox, kpTopic(token, 'update/keys', 1), JSON.stringify({ model: 'A300' }));
    assert.equal(reply.kind, 'status');
  } finally {
    await h.close();
  }
});

test('anonymous: a client that presents a wrong password is refused rather than let in', async () => {
  const h = await startAuthHarness();
  try {
    await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'gw', password: PASSWORD });
    assert.equal(await refusedCode(h, { username: 'gw', password: 'not-the-password' }), 5);
    await connect(h, { username: 'gw', password: PASSWORD });
  } finally {
    await h.close();
  }
});

test('basic: right password connects; wrong password, unknown user, no credentials, suspended and revoked get CONNACK 5', async () => {
  const h = await startAuthHarness({ mode: 'basic' });
  try {
    const { credential } = await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'device-1', password: PASSWORD });
    const ok = await connect(h, { username: 'device-1', password: PASSWORD });
    await ok.endAsync();
    // Again: served from the verification cache, same answer.
    await (await connect(h, { username: 'device-1', password: PASSWORD })).endAsync();

    assert.equal(await refusedCode(h, { username: 'device-1', password: 'wrong-password' }), 5);
    assert.equal(await refusedCode(h, { username: 'nobody', password: PASSWORD }), 5);
    assert.equal(await refusedCode(h), 5);

    await h.clientAuth.changeStatus(credential.credentialId, 'suspend');
    assert.equal(await refusedCode(h, { username: 'device-1', password: PASSWORD }), 5);
    await h.clientAuth.changeStatus(credential.credentialId, 'reactivate');
    await (await connect(h, { username: 'device-1', password: PASSWORD })).endAsync();
    await h.clientAuth.changeStatus(credential.credentialId, 'revoke');
    assert.equal(await refusedCode(h, { username: 'device-1', password: PASSWORD }), 5);

    const reasons = h.logs.filter((r) => r.msg?.startsWith('client authentication failed')).map((r) => r.fields['reason']);
    assert.deepEqual(reasons, ['wrong password', 'unknown user', 'no credentials', 'suspended', 'revoked']);
  } finally {
    await h.close();
  }
});

test('basic: the password never appears in the logs', async () => {
  const h = await startAuthHarness({ mode: 'basic' });
  try {
    const created = await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'device-2' });
    const generated = created.password!;
    assert.ok(generated.length >= 16);
    await (await connect(h, { username: 'device-2', password: generated })).endAsync();
    assert.equal(await refusedCode(h, { username: 'device-2', password: 'secret-typo-123' }), 5);
    const everything = JSON.stringify(h.logs);
    assert.ok(h.logs.length > 0);
    assert.ok(!everything.includes(generated), 'generated password logged');
    assert.ok(!everything.includes('secret-typo-123'), 'wrong password logged');
    assert.ok(everything.includes('device-2'), 'the username is logged, to help the operator');
  } finally {
    await h.close();
  }
});

test('revoking or suspending a credential disconnects the sessions authenticated with it, and only those', async () => {
  const h = await startAuthHarness({ mode: 'basic' });
  try {
    const a = await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'a', password: PASSWORD });
    await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'b', password: PASSWORD });
    const first = await connect(h, { username: 'a', password: PASSWORD });
    const second = await connect(h, { username: 'a', password: PASSWORD, clientId: 'other' });
    const bystander = await connect(h, { username: 'b', password: PASSWORD });
    let closed = 0;
    first.on('close', () => closed++);
    second.on('close', () => closed++);
    await h.clientAuth.changeStatus(a.credential.credentialId, 'revoke');
    await waitFor('both sessions closed', () => closed >= 2 && !first.connected && !second.connected);
    assert.ok(bystander.connected);
    assert.ok(h.logs.some((r) => r.msg === 'closing session' && r.fields['reason'] === 'client credential revoked'));
    const b = (await h.clientAuth.listCredentials('demo_application')).find((c) => c.username === 'b')!;
    await h.clientAuth.changeStatus(b.credentialId, 'suspend');
    await waitFor('the suspended credential\'s session closed', () => !bystander.connected);
  } finally {
    await h.close();
  }
});

test('per-application mode: anonymous globally, meters requires basic credentials of meters', async () => {
  const h = await startAuthHarness({ mode: 'anonymous', applications: { meters: 'basic' } });
  try {
    const demo = await endpoint(h, 'demo_application_v1');
    const meter = await endpoint(h, 'meters_v1');
    await h.clientAuth.createCredential({ applicationName: 'meters', kind: 'basic', username: 'meter-gw', password: PASSWORD });
    await h.clientAuth.createCredential({ applicationName: 'demo_application', kind: 'basic', username: 'demo-gw', password: PASSWORD });

    // Anonymous: demo works, meters is 401; it may not even subscribe to a meter's responses.
    const anon = await connect(h);
    const anonInbox = new Inbox(anon);
    await anon.subscribeAsync(`${kpTopic(demo.token, 'update/keys')}/#`);
    await assert.rejects(anon.subscribeAsync(`${kpTopic(meter.token, 'update/keys', undefined, 'meters_v1')}/#`));
    assert.equal((await request(anon, anonInbox, kpTopic(demo.token, 'update/keys', 1), '{"a":1}')).kind, 'status');
    const refused = await request(anon, anonInbox, kpTopic(meter.token, 'update/keys', 2, 'meters_v1'), '{"a":1}');
    assert.equal(refused.kind, 'error');
    assert.equal((refused.json() as { statusCode: number }).statusCode, 401);

    // A credential of another application: 403.
    const other = await connect(h, { username: 'demo-gw', password: PASSWORD });
    const otherInbox = new Inbox(other);
    await assert.rejects(other.subscribeAsync(`${kpTopic(meter.token, 'update/keys', undefined, 'meters_v1')}/#`));
    const forbidden = await request(other, otherInbox, kpTopic(meter.token, 'update/keys', 3, 'meters_v1'), '{"a":1}');
    assert.equal((forbidden.json() as { statusCode: number }).statusCode, 403);

    // The meters credential: allowed.
    const gw = await connect(h, { username: 'meter-gw', password: PASSWORD });
    const gwInbox = new Inbox(gw);
    await gw.subscribeAsync(`${kpTopic(meter.token, 'update/keys', undefined, 'meters_v1')}/#`);
    assert.equal((await request(gw, gwInbox, kpTopic(meter.token, 'update/keys', 4, 'meters_v1'), '{"a":1}')).kind, 'status');
    assert.deepEqual(await h.services.registry.getMetadata(meter.endpointId, 'operator'), { a: 1 });
  } finally {
    await h.close();
  }
});

test('gateway binding: a bound credential may use tokens of its endpoints only; re-binding disconnects it', async () => {
  const h = await startAuthHarness({ mode: 'basic' });
  try {
    const bound = await endpoint(h);
    const notBound = await endpoint(h);
    const { credential } = await h.clientAuth.createCredential({
      applicationName: 'demo_application', kind: 'basic', username: 'gateway', password: PASSWORD, endpoints: [bound.endpointId],
    });
    const gw = await connect(h, { username: 'gateway', password: PASSWORD });
    const inbox = new Inbox(gw);
    await gw.subscribeAsync(`${kpTopic(bound.token, 'update/keys')}/#`);
    await assert.rejects(gw.subscribeAsync(`${kpTopic(notBound.token, 'update/keys')}/#`));
    assert.equal((await request(gw, inbox, kpTopic(bound.token, 'update/keys', 1), '{"a":1}')).kind, 'status');
    const refused = await request(gw, inbox, kpTopic(notBound.token, 'update/keys', 2), '{"a":1}');
    assert.equal(refused.kind, 'error');
    assert.equal((refused.json() as { statusCode: number }).statusCode, 403);
    assert.match((refused.json() as { reasonPhrase: string }).reasonPhrase, /bound to other endpoints/);
    assert.deepEqual(await h.services.registry.getMetadata(notBound.endpointId, 'operator'), {});

    await h.clientAuth.bindEndpoints(credential.credentialId, [bound.endpointId, notBound.endpointId]);
    await waitFor('the session ended after re-binding', () => !gw.connected);
    const again = await connect(h, { username: 'gateway', password: PASSWORD });
    const inbox2 = new Inbox(again);
    await again.subscribeAsync(`${kpTopic(notBound.token, 'update/keys')}/#`);
    assert.equal((await request(again, inbox2, kpTopic(notBound.token, 'update/keys', 3), '{"a":2}')).kind, 'status');
  } finally {
    await h.close();
  }
});

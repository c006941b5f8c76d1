import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from '../helpers/test.js';
import { TOKEN_PATTERN, isValidToken } from '../../src/core/names.js';
import { createServices } from '../../src/platform/services.js';
import { DEMO_APP, DEMO_VERSION, type TestServices, createTestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('credentials', () => {
  let t: TestServices;
  beforeEach(async () => {
    t = await createTestServices({
      declare: [
        { name: DEMO_APP, versions: [{ name: DEMO_VERSION, extensions: ['epmx'] }] },
        { name: 'other_app', versions: [{ name: 'other_app_v1', extensions: ['epmx'] }] },
      ],
    });
  });
  afterEach(() => t.close());

  test('generated tokens are random, long, topic-safe and stored only as their hash', async () => {
    const a = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION });
    const b = await t.credentials.issueToken(a.endpoint.endpointId);
    for (const token of [a.token, b.token]) {
      assert.ok(token.length >= 22, `token ${token} is too short`);
      assert.match(token, TOKEN_PATTERN);
      assert.ok(isValidToken(token));
    }
    assert.notEqual(a.token, b.token);
    assert.equal(a.tokenRecord.tokenHash, sha256(a.token));
    assert.equal(b.record.tokenHash, sha256(b.token));
    assert.equal(b.record.hint, `…${b.token.slice(-4)}`);
    assert.equal(b.record.status, 'INACTIVE');
    assert.equal(b.record.applicationName, DEMO_APP);
    const listed = await t.credentials.listTokens(a.endpoint.endpointId);
    assert.deepEqual(listed.map((r) => r.tokenId).sort(), [a.tokenRecord.tokenId, b.record.tokenId].sort());
  });

  test('the plain token never reaches the database file', async () => {
    const custom = 'plainSecretToken_8f2d';
    const created = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: custom });
    const issued = await t.credentials.issueToken(created.endpoint.endpointId);
    await t.credentials.resolveToken(DEMO_APP, custom);
    // Every file of the database (main file, WAL, shared memory) as it is after the commits.
    const dir = t.dir;
    assert.ok(dir !== undefined, 'this test reads the SQLite files: run it with TETHER_TEST_BACKEND unset');
    const bytes = Buffer.concat(
      fs.readdirSync(dir).map((name) => fs.readFileSync(path.join(dir, name))),
    );
    // The hashes are there, so we are looking at the right bytes.
    assert.ok(bytes.includes(Buffer.from(sha256(custom))), 'hash of the custom token is stored');
    assert.ok(bytes.includes(Buffer.from(issued.record.tokenHash)), 'hash of the generated token is stored');
    assert.ok(!bytes.includes(Buffer.from(custom)), 'custom token found in the database files');
    assert.ok(!bytes.includes(Buffer.from(issued.token)), 'generated token found in the database files');
  });

  test('custom tokens are unique per application', async () => {
    const a = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'shared-token' });
    await assert.rejects(t.credentials.issueToken(a.endpoint.endpointId, 'shared-token'), { code: 'TOKEN_CONFLICT' });
    await assert.rejects(t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'shared-token' }), {
      code: 'TOKEN_CONFLICT',
    });
    const other = await t.registry.createEndpoint({ appVersionName: 'other_app_v1', endpointToken: 'shared-token' });
    assert.equal(other.tokenRecord.applicationName, 'other_app');
    assert.equal((await t.credentials.resolveToken('other_app', 'shared-token')).endpointId, other.endpoint.endpointId);
    assert.equal((await t.credentials.resolveToken(DEMO_APP, 'shared-token')).endpointId, a.endpoint.endpointId);
  });

  test('malformed tokens are rejected', async () => {
    const { endpoint } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION });
    for (const bad of ['a.b', 'a/b', 'a+b', 'a#b', '', 'x'.repeat(257), 'a\u0001b']) {
      await assert.rejects(t.credentials.issueToken(endpoint.endpointId, bad), { code: 'TOKEN_INVALID' }, bad);
      await assert.rejects(t.credentials.resolveToken(DEMO_APP, bad), { code: 'TOKEN_INVALID' }, bad);
    }
    await assert.rejects(t.credentials.issueToken('no-such-endpoint'), { code: 'ENDPOINT_NOT_FOUND' });
    await assert.rejects(t.credentials.listTokens('no-such-endpoint'), { code: 'ENDPOINT_NOT_FOUND' });
  });

  test('unknown tokens and tokens of another application are TOKEN_UNKNOWN', async () => {
    await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'demo-token' });
    await assert.rejects(t.credentials.resolveToken(DEMO_APP, 'nobody'), { code: 'TOKEN_UNKNOWN' });
    await assert.rejects(t.credentials.resolveToken('other_app', 'demo-token'), { code: 'TOKEN_UNKNOWN' });
  });

  test('first use activates the token durably', async () => {
    const { endpoint, tokenRecord } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'tok1' });
    assert.equal(tokenRecord.status, 'INACTIVE');
    const resolved = await Promise.all(Array.from({ length: 20 }, () => t.credentials.resolveToken(DEMO_APP, 'tok1')));
    for (const record of resolved) {
      assert.equal(record.status, 'ACTIVE');
      assert.equal(record.endpointId, endpoint.endpointId);
    }
    // Written in the background: the device is not kept waiting for the commit.
    await waitFor('activation event', () => t.events.some((e) => e.type === 'token.status-changed'));
    const [stored] = await t.storage.listTokens(endpoint.endpointId);
    assert.equal(stored?.status, 'ACTIVE');
    const activations = t.events.filter((e) => e.type === 'token.status-changed' && e.status === 'ACTIVE');
    assert.equal(activations.length, 1, 'one activation however many messages raced');
  });

  test('lifecycle: suspend, reactivate, revoke, and invalid transitions', async () => {
    const { endpoint, tokenRecord } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'life' });
    const id = endpoint.endpointId;
    const tokenId = tokenRecord.tokenId;
    await assert.rejects(t.credentials.changeTokenStatus(id, tokenId, 'reactivate'), { code: 'TOKEN_STATE_CONFLICT' });

    await t.credentials.resolveToken(DEMO_APP, 'life');
    await assert.rejects(t.credentials.changeTokenStatus(id, tokenId, 'reactivate'), { code: 'TOKEN_STATE_CONFLICT' });

    const suspended = await t.credentials.changeTokenStatus(id, tokenId, 'suspend');
    assert.equal(suspended.status, 'SUSPENDED');
    await assert.rejects(t.credentials.resolveToken(DEMO_APP, 'life'), { code: 'TOKEN_SUSPENDED' });
    await assert.rejects(t.credentials.changeTokenStatus(id, tokenId, 'suspend'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TOKEN_STATE_CONFLICT');
      assert.match(err.message, /SUSPENDED token cannot be suspended/);
      return true;
    });

    const reactivated = await t.credentials.changeTokenStatus(id, tokenId, 'reactivate');
    assert.equal(reactivated.status, 'ACTIVE');
    assert.equal((await t.credentials.resolveToken(DEMO_APP, 'life')).status, 'ACTIVE');

    const revoked = await t.credentials.changeTokenStatus(id, tokenId, 'revoke');
    assert.equal(revoked.status, 'REVOKED');
    await assert.rejects(t.credentials.resolveToken(DEMO_APP, 'life'), { code: 'TOKEN_REVOKED' });
    for (const action of ['suspend', 'reactivate', 'revoke'] as const) {
      await assert.rejects(t.credentials.changeTokenStatus(id, tokenId, action), { code: 'TOKEN_STATE_CONFLICT' });
    }
    const [stored] = await t.storage.listTokens(id);
    assert.equal(stored?.status, 'REVOKED');

    await waitFor('status events', () => t.events.filter((e) => e.type === 'token.status-changed').length >= 4);
    const statuses = t.events.flatMap((e) => (e.type === 'token.status-changed' ? [e.status] : []));
    assert.deepEqual(statuses, ['ACTIVE', 'SUSPENDED', 'ACTIVE', 'REVOKED']);
    const revokedEvent = t.events.find((e) => e.type === 'token.status-changed' && e.status === 'REVOKED');
    assert.deepEqual(revokedEvent && { ...revokedEvent, at: undefined }, {
      type: 'token.status-changed',
      endpointId: id,
      applicationName: DEMO_APP,
      tokenId,
      tokenHash: sha256('life'),
      status: 'REVOKED',
      at: undefined,
    });
  });

  test('an unused token can be suspended and revoked', async () => {
    const { endpoint, tokenRecord } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'fresh' });
    assert.equal((await t.credentials.changeTokenStatus(endpoint.endpointId, tokenRecord.tokenId, 'suspend')).status, 'SUSPENDED');
    await assert.rejects(t.credentials.resolveToken(DEMO_APP, 'fresh'), { code: 'TOKEN_SUSPENDED' });
    const issued = await t.credentials.issueToken(endpoint.endpointId);
    assert.equal((await t.credentials.changeTokenStatus(endpoint.endpointId, issued.record.tokenId, 'revoke')).status, 'REVOKED');
  });

  test('status changes check that the token belongs to the endpoint', async () => {
    const a = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION });
    const b = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION });
    await assert.rejects(t.credentials.changeTokenStatus(b.endpoint.endpointId, a.tokenRecord.tokenId, 'revoke'), {
      code: 'TOKEN_NOT_FOUND',
    });
    await assert.rejects(t.credentials.changeTokenStatus(a.endpoint.endpointId, 'no-such-token', 'revoke'), {
      code: 'TOKEN_NOT_FOUND',
    });
    await t.credentials.resolveToken(DEMO_APP, a.token);
    assert.equal((await t.credentials.resolveToken(DEMO_APP, a.token)).status, 'ACTIVE');
  });

  test('the cache follows token.status-changed events from the bus (another node)', async () => {
    const { endpoint, tokenRecord } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'remote' });
    await t.credentials.resolveToken(DEMO_APP, 'remote');
    await t.credentials.resolveToken(DEMO_APP, 'remote');

    // Another node suspends the token: storage changes without a local call.
    await t.storage.updateTokenStatus(tokenRecord.tokenId, 'SUSPENDED', new Date().toISOString());
    // Served from memory: without the event this node still sees the token it cached.
    assert.equal((await t.credentials.resolveToken(DEMO_APP, 'remote')).status, 'ACTIVE');

    await t.bus.publish({
      type: 'token.status-changed',
      endpointId: endpoint.endpointId,
      applicationName: DEMO_APP,
      tokenId: tokenRecord.tokenId,
      tokenHash: sha256('remote'),
      status: 'SUSPENDED',
      at: new Date().toISOString(),
    });
    await waitFor(
      'the suspension to reach the cache',
      () => t.credentials.resolveToken(DEMO_APP, 'remote').then(() => false, (err: { code?: string }) => err.code === 'TOKEN_SUSPENDED'),
    );
  });

  test('a second node on the same storage and bus sees status changes at once', async () => {
    const nodeB = await createServices({ storage: t.storage, bus: t.bus });
    try {
      const { endpoint, tokenRecord } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'two-nodes' });
      assert.equal((await nodeB.credentials.resolveToken(DEMO_APP, 'two-nodes')).status, 'ACTIVE');
      assert.equal((await t.credentials.resolveToken(DEMO_APP, 'two-nodes')).status, 'ACTIVE');
      await t.credentials.changeTokenStatus(endpoint.endpointId, tokenRecord.tokenId, 'revoke');
      await waitFor(
        'node B to see the revocation',
        () => nodeB.credentials.resolveToken(DEMO_APP, 'two-nodes').then(() => false, (err: { code?: string }) => err.code === 'TOKEN_REVOKED'),
      );
    } finally {
      await nodeB.close();
    }
  });

  test('deleting the endpoint drops its cached tokens', async () => {
    const { endpoint } = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION, endpointToken: 'doomed' });
    await t.credentials.resolveToken(DEMO_APP, 'doomed');
    await t.registry.deleteEndpoint(endpoint.endpointId);
    await waitFor(
      'the deleted endpoint token to be unknown',
      () => t.credentials.resolveToken(DEMO_APP, 'doomed').then(() => false, (err: { code?: string }) => err.code === 'TOKEN_UNKNOWN'),
    );
  });
});

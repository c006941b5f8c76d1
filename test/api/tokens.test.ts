import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createEndpoint, startApi } from './harness.js';

const CM = '/cm/api/v1';

test('tokens: issue, list, suspend, reactivate, revoke; invalid transitions are 409', async () => {
  const api = await startApi();
  try {
    const { endpointId, token: first } = await createEndpoint(api);
    const base = `${CM}/endpoints/${endpointId}/tokens`;

    const issued = await api.call('POST', base, { token: 'custom-token-1' });
    assert.equal(issued.status, 201);
    assert.equal(issued.json.token, 'custom-token-1');
    assert.equal(issued.json.status, 'INACTIVE');
    const generated = await api.call('POST', base);
    assert.equal(generated.status, 201);
    assert.ok(generated.json.token.length >= 16);
    assert.notEqual(generated.json.token, first);

    const list = await api.call('GET', base);
    assert.equal(list.status, 200);
    assert.equal(list.json.length, 3);
    for (const t of list.json) {
      assert.deepEqual(Object.keys(t).sort(), ['applicationName', 'createdDate', 'endpointId', 'hint', 'status', 'statusUpdatedDate', 'tokenId']);
      assert.equal(t.status, 'INACTIVE');
    }
    // Neither the plain token nor its hash is ever listed.
    assert.doesNotMatch(list.text, /custom-token-1|tokenHash/);

    const id = issued.json.tokenId;
    const suspended = await api.call('POST', `${base}/${id}/suspend`);
    assert.equal(suspended.status, 200);
    assert.equal(suspended.json.status, 'SUSPENDED');
    assert.equal(suspended.json.tokenId, id);
    await assert.rejects(api.services.credentials.resolveToken('demo_application', 'custom-token-1'), { code: 'TOKEN_SUSPENDED' });

    const reactivated = await api.call('POST', `${base}/${id}/reactivate`);
    assert.equal(reactivated.status, 200);
    assert.equal(reactivated.json.status, 'ACTIVE');

    const revoked = await api.call('POST', `${base}/${id}/revoke`);
    assert.equal(revoked.json.status, 'REVOKED');
    for (const action of ['suspend', 'reactivate', 'revoke']) {
      const again = await api.call('POST', `${base}/${id}/${action}`);
      assert.equal(again.status, 409, action);
      assert.equal(again.json.code, 'TOKEN_STATE_CONFLICT');
    }
    const reactivateActive = await api.call('POST', `${base}/${generated.json.tokenId}/reactivate`);
    assert.equal(reactivateActive.status, 409);

    const unknownToken = await api.call('POST', `${base}/no-such-token/suspend`);
    assert.equal(unknownToken.status, 404);
    assert.equal(unknownToken.json.code, 'TOKEN_NOT_FOUND');

    const badToken = await api.call('POST', base, { token: 'a#b' });
    assert.equal(badToken.status, 400);
    assert.equal(badToken.json.code, 'TOKEN_INVALID');
    const taken = await api.call('POST', base, { token: 'custom-token-1' });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.code, 'TOKEN_CONFLICT');

    assert.equal((await api.call('GET', `${CM}/endpoints/nope/tokens`)).status, 404);
    assert.equal((await api.call('POST', `${CM}/endpoints/nope/tokens`, {})).status, 404);
  } finally {
    await api.close();
  }
});

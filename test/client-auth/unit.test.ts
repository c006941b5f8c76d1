import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { admit } from '../../src/client-auth/policy.js';
import { hashPassword, verifyPassword } from '../../src/client-auth/password.js';
import { VerifyCache } from '../../src/client-auth/verify-cache.js';
import type { ClientIdentity } from '../../src/client-auth/types.js';
import { isTetherError } from '../../src/core/errors.js';
import { createTestClock } from '../helpers/clock.js';

const clock = createTestClock(1_000_000);

test('scrypt hashes are salted and verify only the right password', async () => {
  const a = await hashPassword('pass-word-1');
  const b = await hashPassword('pass-word-1');
  assert.notEqual(a, b);
  assert.match(a, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifyPassword('pass-word-1', a), true);
  assert.equal(await verifyPassword('pass-word-2', a), false);
  assert.equal(await verifyPassword('pass-word-1', 'garbage'), false);
});

test('the verification cache runs the check once per credential and password, expires, and is invalidated', async () => {
  const cache = new VerifyCache(clock, 1000);
  let runs = 0;
  const verify = (ok: boolean) => async () => {
    runs++;
    return ok;
  };
  // Concurrent checks share one run.
  assert.deepEqual(await Promise.all([cache.check('c1', 'pw', verify(true)), cache.check('c1', 'pw', verify(true))]), [true, true]);
  assert.equal(runs, 1);
  assert.equal(await cache.check('c1', 'pw', verify(true)), true);
  assert.equal(runs, 1);
  // Another password, or a failure, is never served from the cache.
  assert.equal(await cache.check('c1', 'other', verify(false)), false);
  assert.equal(await cache.check('c1', 'other', verify(false)), false);
  assert.equal(runs, 3);
  cache.invalidate('c1');
  assert.equal(await cache.check('c1', 'pw', verify(true)), true);
  assert.equal(runs, 4);
  clock.advance(1001);
  assert.equal(await cache.check('c1', 'pw', verify(true)), true);
  assert.equal(runs, 5);
});

test('admission: per-application mode and gateway binding', () => {
  const config = { mode: 'anonymous' as const, applications: { meters: 'basic' as const } };
  const identity: ClientIdentity = { credentialId: 'c1', kind: 'basic', applicationName: 'meters', boundEndpoints: ['e1'] };
  const code = (fn: () => void) => {
    try {
      fn();
      return 'OK';
    } catch (err) {
      assert.ok(isTetherError(err));
      return `${err.status} ${err.code}`;
    }
  };
  assert.equal(code(() => admit(config, undefined, 'demo', 'e9')), 'OK');
  assert.equal(code(() => admit(config, undefined, 'meters', 'e1')), '401 CLIENT_AUTH_REQUIRED');
  assert.equal(code(() => admit(config, identity, 'meters', 'e1')), 'OK');
  assert.equal(code(() => admit(config, identity, 'meters', 'e2')), '403 ENDPOINT_NOT_BOUND');
  assert.equal(code(() => admit(config, { ...identity, applicationName: 'demo' }, 'meters', 'e1')), '403 CLIENT_CREDENTIAL_FORBIDDEN');
  assert.equal(code(() => admit(config, { ...identity, kind: 'x509' }, 'meters', 'e1')), '403 CLIENT_CREDENTIAL_FORBIDDEN');
  // A bound credential is bound everywhere, anonymous applications included.
  assert.equal(code(() => admit(config, identity, 'demo', 'e9')), '403 ENDPOINT_NOT_BOUND');
});

import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import fc from 'fast-check';
import { isTetherError } from '../../src/core/errors.js';
import { METADATA_KEY_PATTERN } from '../../src/core/names.js';
import { parseDeleteRequest, parseGetRequest, parseUpdateRequest } from '../../src/extensions/epmx/payload.js';
import { MAX_REQUEST_ID, parseKpTopic } from '../../src/protocol/index.js';

// Bounded and reproducible: a failure prints the seed and the shrunk counterexample.
const SEED = 20260101;
const runs = { numRuns: 500, seed: SEED, verbose: 1 } as const;

/** Runs `f`; anything thrown must be a TetherError with a 4xx status. */
function onlyTetherErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    assert.ok(isTetherError(err), `threw a non-TetherError: ${String(err)}`);
    assert.ok(err.status >= 400 && err.status < 500, `status ${err.status}`);
    return undefined;
  }
}

const name = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const resource = fc.array(fc.stringMatching(/^[a-z][a-z/]{0,8}[a-z]$/), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/').replace(/\/+/g, '/'));
const topicChars = fc.constantFrom('kp1/', '/', '+', '#', '0', '9', 'a', '\u0000', '\uffff', '\ud800', 'é', '.', ' ');

describe('property: 1/KP topic parser', () => {
  it('never throws anything but a TetherError, whatever the topic', () => {
    const anyTopic = fc.oneof(fc.string({ maxLength: 300 }), fc.array(topicChars, { maxLength: 60 }).map((cs) => cs.join('')), fc.string({ unit: 'binary', maxLength: 100 }));
    fc.assert(fc.property(anyTopic, (topic) => void onlyTetherErrors(() => parseKpTopic(topic))), runs);
  });

  it('a valid topic round-trips', () => {
    const requestId = fc.option(fc.integer({ min: 1, max: MAX_REQUEST_ID }), { nil: undefined });
    fc.assert(
      fc.property(name, name, token, resource, requestId, (appVersionName, extensionInstance, endpointToken, resourcePath, id) => {
        fc.pre(!/(^|\/)\d+$/.test(resourcePath));
        const topic = `kp1/${appVersionName}/${extensionInstance}/${endpointToken}/${resourcePath}${id === undefined ? '' : `/${id}`}`;
        assert.deepEqual(parseKpTopic(topic), { appVersionName, extensionInstance, endpointToken, resourcePath, requestId: id });
      }),
      runs,
    );
  });

  it('a request ID, when parsed, is a safe positive integer', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,30}$/), (digits) => {
        const parsed = onlyTetherErrors(() => parseKpTopic(`kp1/v/epmx/tok/get/${digits}`));
        if (parsed) assert.ok(Number.isSafeInteger(parsed.requestId) && parsed.requestId! >= 1 && parsed.requestId! <= MAX_REQUEST_ID);
      }),
      runs,
    );
  });
});

describe('property: 10/EPMP payload validation', () => {
  const jsonish = fc.oneof(
    fc.json({ depthSize: 'medium' }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }).map((o) => Buffer.from(JSON.stringify(o))),
  );

  it('never throws anything but a TetherError', () => {
    fc.assert(
      fc.property(jsonish, (payload) => {
        onlyTetherErrors(() => parseUpdateRequest(payload));
        onlyTetherErrors(() => parseGetRequest(payload));
        onlyTetherErrors(() => parseDeleteRequest(payload));
      }),
      runs,
    );
  });

  it('an accepted update has only keys matching the pattern, and at least one', () => {
    fc.assert(
      fc.property(jsonish, (payload) => {
        const metadata = onlyTetherErrors(() => parseUpdateRequest(payload));
        if (metadata === undefined) return;
        const keys = Object.keys(metadata);
        assert.ok(keys.length > 0);
        for (const key of keys) assert.match(key, METADATA_KEY_PATTERN);
      }),
      runs,
    );
  });

  it('accepted get and delete requests list only keys matching the pattern', () => {
    const keyLists = fc.array(fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_]{1,8}$/), fc.string({ maxLength: 8 })), { maxLength: 6 });
    fc.assert(
      fc.property(keyLists, fc.boolean(), (keys, wrap) => {
        const payload = Buffer.from(JSON.stringify(wrap ? { keys } : keys));
        for (const parse of [parseGetRequest, parseDeleteRequest]) {
          const accepted = onlyTetherErrors(() => parse(payload));
          for (const key of accepted ?? []) assert.match(key, METADATA_KEY_PATTERN);
        }
      }),
      runs,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import { errors } from '../../src/core/errors.js';
import { MAX_REQUEST_ID, errorPayload, errorTopic, parseKpTopic, redactTopic, statusTopic } from '../../src/protocol/index.js';

function rejects(topic: string): { code: string; status: number } {
  try {
    parseKpTopic(topic);
  } catch (err) {
    assert.ok(isTetherError(err), `expected a TetherError for ${topic}`);
    return { code: err.code, status: err.status };
  }
  assert.fail(`expected ${JSON.stringify(topic)} to be rejected`);
}

describe('1/KP topic grammar', () => {
  it('takes a request topic apart', () => {
    assert.deepEqual(parseKpTopic('kp1/demo_application_v1/epmx/myToken/update/keys'), {
      appVersionName: 'demo_application_v1',
      extensionInstance: 'epmx',
      endpointToken: 'myToken',
      resourcePath: 'update/keys',
      requestId: undefined,
    });
  });

  it('reads a positive integer last level as the request ID, not part of the resource path', () => {
    const parsed = parseKpTopic('kp1/v1/epmx/tok/update/keys/42');
    assert.equal(parsed.resourcePath, 'update/keys');
    assert.equal(parsed.requestId, 42);
    assert.equal(parseKpTopic('kp1/v1/epmx/tok/get/007').requestId, 7);
    assert.equal(parseKpTopic(`kp1/v1/epmx/tok/get/${MAX_REQUEST_ID}`).requestId, MAX_REQUEST_ID);
  });

  it('keeps a non-numeric last level in the resource path', () => {
    assert.deepEqual(
      { ...parseKpTopic('kp1/v1/epmx/tok/get/keys') },
      { appVersionName: 'v1', extensionInstance: 'epmx', endpointToken: 'tok', resourcePath: 'get/keys', requestId: undefined },
    );
    assert.equal(parseKpTopic('kp1/v1/epmx/tok/get/4x2').resourcePath, 'get/4x2');
    assert.equal(parseKpTopic('kp1/v1/epmx/tok/get/-1').resourcePath, 'get/-1');
  });

  it('treats a numeric level right after the token as a resource, not a request ID', () => {
    const parsed = parseKpTopic('kp1/v1/epmx/tok/42');
    assert.equal(parsed.resourcePath, '42');
    assert.equal(parsed.requestId, undefined);
  });

  it('rejects absurd request IDs with 400', () => {
    for (const id of ['0', '000', String(MAX_REQUEST_ID + 1), '9007199254740993', '99999999999999999999', '1'.repeat(400)]) {
      assert.deepEqual(rejects(`kp1/v1/epmx/tok/get/${id}`), { code: 'REQUEST_ID_INVALID', status: 400 }, id);
    }
  });

  it('rejects topics that are not 1/KP with 400', () => {
    for (const topic of [
      'kp2/v1/epmx/tok/get',
      'kp1',
      'kp1/',
      'kp1/v1',
      'kp1/v1/epmx',
      'kp1/v1/epmx/tok',
      'kp1/v1/epmx/tok/',
      'kp1//epmx/tok/get',
      'kp1/v1//tok/get',
      'kp1/v1/epmx//get',
      '/kp1/v1/epmx/tok/get',
      'KP1/v1/epmx/tok/get',
      'other/topic',
    ]) {
      assert.deepEqual(rejects(topic), { code: 'KP_TOPIC_INVALID', status: 400 }, topic);
    }
  });

  it('builds response topics by appending /status and /error', () => {
    assert.equal(statusTopic('kp1/v1/epmx/tok/get/42'), 'kp1/v1/epmx/tok/get/42/status');
    assert.equal(errorTopic('kp1/v1/epmx/tok/get/42'), 'kp1/v1/epmx/tok/get/42/error');
  });

  it('masks the token level for logs', () => {
    assert.equal(redactTopic('kp1/v1/epmx/secretToken/update/keys/3'), 'kp1/v1/epmx/***/update/keys/3');
    assert.ok(!redactTopic('kp1/v1/epmx/secretToken').includes('secretToken'));
  });
});

describe('1/KP error payload', () => {
  it('follows 0001-error-response: statusCode and reasonPhrase only', () => {
    const err = errors.unknownAppVersion('nope_v1');
    const body = JSON.parse(errorPayload(err).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['reasonPhrase', 'statusCode']);
    assert.equal(body['statusCode'], 404);
    assert.equal(body['reasonPhrase'], err.message);
  });
});

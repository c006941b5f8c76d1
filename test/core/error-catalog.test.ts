/**
 * Walks the whole error catalog: one meaning per code, one HTTP status and one MQTT reason per code,
 * and a message that says what to do, read over the real HTTP error path.
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import Fastify from 'fastify';
import { installErrorHandling, requestErrorLog } from '../../src/api/error-handler.js';
import { type CatalogEntry, errors, isErrorCode, revive, TetherError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { Reason, reasonForError } from '../../src/transport/reason-codes.js';

const entries = Object.entries(errors) as Array<[string, CatalogEntry<string, unknown[]>]>;

/**
 * Arguments that give no advice of their own, so the advice has to come from the entry's template:
 * strings by default, these where an entry takes something else.
 */
const SAMPLES: { [K in keyof typeof errors]?: (variant: number) => Parameters<(typeof errors)[K]> } = {
  commandResultUnknown: (variant) => [[variant, variant + 1], `x${variant}`],
  // The advice is a required argument here: only the caller knows which setting chose the address.
  listenFailed: (variant) => [`x${variant}0`, `x${variant}1`, `x${variant}2`, 'Start with --flag <value>.'],
};

function sample(name: string, variant = 0): unknown[] {
  const given = SAMPLES[name as keyof typeof errors];
  return given ? given(variant) : Array.from({ length: 6 }, (_, i) => `x${variant}${i}`);
}

/** Words a piece of advice starts with ("Use …", "Send …", "… or ask an admin …"). */
const ADVICE =
  /\b(use|send|check|choose|create|enable|remove|subscribe|connect|list|ask|start|point|set|retry|try|delete|leave|issue|read|type|make|flatten|slow down|close|upgrade|raise|define|bind|run|pass|correct|fix|see|write|report)\b/i;

test('every catalog code has one entry (one meaning), in CONSTANT_CASE', () => {
  const byCode = new Map<string, string[]>();
  for (const [name, entry] of entries) {
    assert.match(entry.code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, name);
    byCode.set(entry.code, [...(byCode.get(entry.code) ?? []), name]);
  }
  const shared = [...byCode].filter(([, names]) => names.length > 1).map(([code, names]) => `${code}: ${names.join(', ')}`);
  assert.deepEqual(shared, [], 'a code names one kind of error; give the new meaning its own code');
  // The code is a union of the catalog's codes, so the compiler refuses any other string.
  // @ts-expect-error: 'NO_SUCH_CODE' is not an ErrorCode
  const outside = new TetherError('NO_SUCH_CODE', 400, 'x');
  assert.equal(isErrorCode(outside.code), false);
});

test('every catalog entry makes its own code and status, and one MQTT reason code', () => {
  const reasons = new Set<number>(Object.values(Reason));
  for (const [name, entry] of entries) {
    const make = entry as unknown as (...args: unknown[]) => TetherError;
    const first = make(...sample(name));
    const second = make(...sample(name, 1));
    assert.ok(first instanceof TetherError, name);
    assert.equal(first.code, entry.code, name);
    assert.equal(first.status, entry.status, name);
    assert.equal(second.status, entry.status, name);
    assert.ok(entry.status >= 400 && entry.status <= 599, `${name}: status ${entry.status} is not an error status`);
    const reason = reasonForError(first);
    assert.ok(reasons.has(reason), `${name}: reason 0x${reason.toString(16)} is not one Tether sends`);
    assert.equal(reasonForError(second), reason, `${name}: the MQTT reason depends on the arguments`);
    assert.ok(reason >= 0x80, `${name}: an error must not be acknowledged as a success`);
    if (entry.status === 401 || entry.status === 403) assert.equal(reason, Reason.notAuthorized, name);
    // A full disk says "not now" (Quota exceeded, issue 17); every other failure inside Tether is unspecified.
    if (entry.code === 'STORAGE_FULL') assert.equal(reason, Reason.quotaExceeded, name);
    else if (entry.status >= 500) assert.equal(reason, Reason.unspecified, name);
  }
});

test('every catalog message says what was wrong and then what to do', () => {
  const silent: string[] = [];
  for (const [name, entry] of entries) {
    const message = (entry as unknown as (...args: unknown[]) => TetherError)(...sample(name)).message;
    assert.doesNotMatch(message, /\n/, `${name}: the CLI prints a message as one line`);
    assert.match(message, /[.)]$/, `${name}: ${message}`);
    // The first clause says what was wrong; advice follows it.
    const afterProblem = message.split(/(?<=[.:;?])\s/).slice(1).join(' ');
    if (!ADVICE.test(afterProblem)) silent.push(`${name}: ${message}`);
  }
  assert.deepEqual(silent, [], 'these messages do not say what to do');
});

test('the HTTP error path answers every catalog error with its status, code and message', async (t) => {
  const app = Fastify({ logger: false });
  t.after(() => app.close());
  installErrorHandling(app, requestErrorLog(silentLogger), 1024);
  app.get<{ Params: { name: string } }>('/throw/:name', async (request) => {
    const make = errors[request.params.name as keyof typeof errors] as unknown as (...args: unknown[]) => TetherError;
    throw make(...sample(request.params.name));
  });
  for (const [name, entry] of entries) {
    const response = await app.inject({ url: `/throw/${name}` });
    assert.equal(response.statusCode, entry.status, name);
    const body = response.json() as { status: number; code: string; message: string };
    const expected = (entry as unknown as (...args: unknown[]) => TetherError)(...sample(name));
    assert.deepEqual(body, { status: entry.status, code: entry.code, message: expected.message }, name);
  }
});

test('a problem body comes back as the catalog error it was made from; unknown codes do not', () => {
  const original = errors.endpointNotFound('e1');
  const revived = revive({ code: original.code, status: original.status, message: original.message });
  assert.ok(revived instanceof TetherError);
  assert.deepEqual([revived.code, revived.status, revived.message], [original.code, original.status, original.message]);
  assert.equal(revive({ code: 'FROM_A_NEWER_SERVER', status: 400, message: 'x' }), undefined);
  assert.equal(revive({ code: 'ENDPOINT_NOT_FOUND', status: 500, message: 'x' }), undefined, 'a code with another status is not that error');
  assert.equal(isErrorCode('PAYLOAD_NOT_JSON'), true);
  assert.equal(isErrorCode('payload_not_json'), false);
});

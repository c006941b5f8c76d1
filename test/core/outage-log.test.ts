import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import type { Logger } from '../../src/core/log.js';
import { quietDuringOutages } from '../../src/core/outage-log.js';

function recorder(): { logger: Logger; lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> } {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const make = (bindings: Record<string, unknown>): Logger => ({
    debug: (obj, msg) => lines.push({ level: 'debug', obj: { ...bindings, ...obj }, ...(msg !== undefined && { msg }) }),
    info: (obj, msg) => lines.push({ level: 'info', obj: { ...bindings, ...obj }, ...(msg !== undefined && { msg }) }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: { ...bindings, ...obj }, ...(msg !== undefined && { msg }) }),
    error: (obj, msg) => lines.push({ level: 'error', obj: { ...bindings, ...obj }, ...(msg !== undefined && { msg }) }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return { logger: make({}), lines };
}

test('UNAVAILABLE lines are written once per interval for each place and message, with how many were held back', () => {
  let now = 0;
  const { logger, lines } = recorder();
  const quiet = quietDuringOutages(logger, { now: () => now } as never, 10_000);
  const mqtt = quiet.child({ component: 'mqtt' });
  const bus = quiet.child({ part: 'bus' });
  const unavailable = { err: Object.assign(new Error('storage away'), { code: 'UNAVAILABLE' }) };
  for (let i = 0; i < 100; i++) mqtt.error(unavailable, 'request failed');
  mqtt.error({ code: 'UNAVAILABLE' }, 'request failed');
  bus.error(unavailable, 'request failed');
  mqtt.warn(unavailable, 'other message');
  // Everything else passes untouched.
  for (let i = 0; i < 3; i++) mqtt.error({ err: new Error('a bug') }, 'request failed');
  assert.equal(lines.filter((l) => l.obj['heldBack'] !== undefined).length, 3);
  assert.equal(lines.filter((l) => l.obj['heldBack'] === undefined).length, 3);

  now = 10_000;
  mqtt.error(unavailable, 'request failed');
  const last = lines.at(-1)!;
  assert.equal(last.obj['heldBack'], 100);
  assert.equal(last.obj['component'], 'mqtt');
  assert.match(last.msg ?? '', /^request failed \(while this lasts: one line per 10 s/);
});

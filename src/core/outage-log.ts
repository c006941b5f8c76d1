import type { Clock } from './clock.js';
import type { Logger } from './log.js';

const INTERVAL_MS = 10_000;

/**
 * While the database is away every request, connection and background task fails with UNAVAILABLE,
 * each in its own place. This logger writes such a line (a `warn` or `error` whose `code` or
 * `err.code` is UNAVAILABLE) once per interval for each place and message, with `heldBack`: how many
 * like it were not written since. Everything else passes through untouched, so an outage is a handful
 * of lines every 10 s however many devices write.
 */
export function quietDuringOutages(logger: Logger, clock: Clock, intervalMs = INTERVAL_MS): Logger {
  const last = new Map<string, { at: number; held: number }>();
  const wrap = (inner: Logger, place: string): Logger => {
    const gate = (level: 'warn' | 'error') => (obj: object, msg?: string) => {
      if (!isUnavailable(obj)) return inner[level](obj, msg);
      const key = `${place}\n${level}\n${msg ?? ''}`;
      const now = clock.now();
      const seen = last.get(key);
      if (seen && now - seen.at < intervalMs) {
        seen.held++;
        return;
      }
      const heldBack = seen?.held ?? 0;
      last.set(key, { at: now, held: 0 });
      inner[level]({ ...obj, heldBack }, `${msg ?? 'unavailable'} (while this lasts: one line per ${intervalMs / 1000} s, heldBack counts the others)`);
    };
    return {
      debug: (obj, msg) => inner.debug(obj, msg),
      info: (obj, msg) => inner.info(obj, msg),
      warn: gate('warn'),
      error: gate('error'),
      child: (bindings) => wrap(inner.child(bindings), `${place}|${JSON.stringify(bindings)}`),
    };
  };
  return wrap(logger, '');
}

function isUnavailable(obj: object): boolean {
  const o = obj as { code?: unknown; err?: { code?: unknown } };
  return o.code === 'UNAVAILABLE' || (typeof o.err === 'object' && o.err !== null && o.err.code === 'UNAVAILABLE');
}

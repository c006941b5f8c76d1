import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/types.js';
import type { Logger } from '../core/log.js';

/**
 * Logs go to stderr, so stdout stays for what the CLI tells the user (the start banner with
 * addresses, first-start secrets and next steps). JSON lines for machines, or readable lines when
 * stderr is a terminal (a person watching `npx tether start`); TETHER_LOG_FORMAT=json|pretty
 * overrides the guess. Redaction is a safety net; the parts already avoid logging secrets.
 */
export function createLogger(level: LogLevel, format: 'json' | 'pretty' = defaultFormat()): Logger {
  const options = {
    level,
    base: { service: 'tether' },
    redact: { paths: ['token', '*.token', 'password', '*.password', 'apiKey', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  };
  if (format === 'pretty') {
    // Synchronous and in this thread: no worker, and nothing is lost on exit.
    return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' }));
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

function defaultFormat(): 'json' | 'pretty' {
  const wanted = process.env.TETHER_LOG_FORMAT;
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  return process.stderr.isTTY === true ? 'pretty' : 'json';
}

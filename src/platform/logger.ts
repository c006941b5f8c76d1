import { pino } from 'pino';
import type { LogLevel } from '../config/types.js';
import type { Logger } from '../core/log.js';

/**
 * JSON lines on stderr, so stdout stays for what the CLI tells the user (addresses, next steps).
 * Redaction is a safety net; the parts already avoid logging secrets.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { service: 'tether' },
      redact: { paths: ['token', '*.token', 'password', '*.password', 'apiKey', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

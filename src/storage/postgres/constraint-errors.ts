import type { TetherError } from '../../core/errors.js';

/**
 * Translates a PostgreSQL unique violation (SQLSTATE 23505) into the TetherError the Storage
 * contract names, by constraint name. Anything else is rethrown unchanged.
 */
export function mapUniqueViolation(err: unknown, conflicts: Record<string, () => TetherError>): never {
  const { code, constraint } = (err ?? {}) as { code?: string; constraint?: string };
  if (code === '23505' && constraint !== undefined) {
    const make = conflicts[constraint];
    if (make) throw make();
  }
  throw err;
}

/**
 * True when the error means the connection (not the statement) failed: the client must be
 * discarded and the write reported as not committed. SQLSTATE class 08 is "connection exception",
 * 57P01-03 are administrator shutdowns; errors without a SQLSTATE come from the socket.
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return true;
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || /^E[A-Z]+$/.test(code);
}

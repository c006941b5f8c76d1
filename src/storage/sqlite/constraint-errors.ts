import type { TetherError } from '../../core/errors.js';

/**
 * Translates a unique-key violation into the TetherError the Storage contract names.
 * `conflicts` maps a constrained column list as SQLite reports it ("endpoints.endpoint_id") to the error.
 * Anything else is rethrown unchanged (the service layer turns it into an internal error).
 */
export function mapUniqueViolation(err: unknown, conflicts: Record<string, () => TetherError>): never {
  if (isUniqueViolation(err)) {
    const columns = /constraint failed: (.+)$/.exec(err.message)?.[1];
    const make = columns === undefined ? undefined : conflicts[columns];
    if (make) throw make();
  }
  throw err;
}

function isUniqueViolation(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

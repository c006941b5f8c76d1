import { errors } from '../../core/errors.js';
import type { ControlStorage } from '../control.js';

/** Placeholder until the PostgreSQL control store lands: a PostgreSQL node refuses to start without it. */
export async function openPostgresControlStorage(_options: { url: string }): Promise<ControlStorage> {
  throw errors.configInvalid('storage', 'configurations and commands are not available on PostgreSQL yet');
}

import { CLIENT_AUTH_MODES } from '../client-auth/types.js';
import type { ClientAuthConfig, ClientAuthMode } from '../client-auth/types.js';
import { NAME_PATTERN } from '../core/names.js';
import { Invalid } from './values.js';

/**
 * `clientAuth.applications` in the config file: `{ <application name>: anonymous | basic | x509 }`.
 * The global mode comes from --client-auth / TETHER_CLIENT_AUTH / clientAuth.mode.
 */
export function parseClientAuthApplications(raw: unknown): Record<string, ClientAuthMode> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Invalid(`clientAuth.applications must be a mapping of application name to one of ${CLIENT_AUTH_MODES.join(', ')}`);
  }
  const modes: Record<string, ClientAuthMode> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!NAME_PATTERN.test(name)) throw new Invalid(`clientAuth.applications has an invalid application name ${JSON.stringify(name)} (names match ^[a-z0-9_-]+$)`);
    const mode = CLIENT_AUTH_MODES.find((m) => m === (typeof value === 'string' ? value.trim().toLowerCase() : undefined));
    if (mode === undefined) throw new Invalid(`clientAuth.applications.${name} must be one of ${CLIENT_AUTH_MODES.join(', ')}`);
    modes[name] = mode;
  }
  return modes;
}

export type { ClientAuthConfig, ClientAuthMode };

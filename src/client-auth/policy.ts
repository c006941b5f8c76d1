import { errors } from '../core/errors.js';
import type { ClientAuthConfig, ClientAuthMode, ClientIdentity } from './types.js';

/** The mode an application requires: its own, else the global one. */
export function modeOf(config: ClientAuthConfig, applicationName: string): ClientAuthMode {
  return config.applications?.[applicationName] ?? config.mode;
}

/**
 * Whether a session may speak for an endpoint of an application (checked once per session and
 * endpoint, when the session first uses one of the endpoint's tokens). Throws the 1/KP error:
 * - the application requires basic/x509 and the session is anonymous: 401 CLIENT_AUTH_REQUIRED;
 * - the session's credential is of another kind or another application: 403 CLIENT_CREDENTIAL_FORBIDDEN;
 * - the credential is bound to endpoints (gateway binding) and this is not one of them: 403 ENDPOINT_NOT_BOUND.
 */
export function admit(config: ClientAuthConfig, identity: ClientIdentity | undefined, applicationName: string, endpointId: string, bound?: ReadonlySet<string>): void {
  const mode = modeOf(config, applicationName);
  if (mode !== 'anonymous') {
    if (!identity) throw errors.clientAuthRequired(applicationName, mode);
    if (identity.kind !== mode || identity.applicationName !== applicationName) throw errors.clientCredentialForbidden(applicationName, mode);
  }
  if (identity && identity.boundEndpoints.length > 0) {
    const endpoints = bound ?? new Set(identity.boundEndpoints);
    if (!endpoints.has(endpointId)) throw errors.endpointNotBound();
  }
}

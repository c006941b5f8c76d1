import type { ClientCredentialKind, ClientCredentialRecord } from '../core/types.js';

/**
 * anonymous: no credential needed (devices are identified by their endpoint tokens alone);
 * basic: MQTT CONNECT username/password of a client credential;
 * x509: a client certificate (mutual TLS) registered as a client credential.
 */
export type ClientAuthMode = 'anonymous' | 'basic' | 'x509';
export const CLIENT_AUTH_MODES: readonly ClientAuthMode[] = ['anonymous', 'basic', 'x509'];

export interface ClientAuthConfig {
  /** Applies at CONNECT, and to every application without its own mode. Default anonymous. */
  mode: ClientAuthMode;
  /** Per-application modes, checked when a session makes a 1/KP request for the application. */
  applications?: Record<string, ClientAuthMode>;
}

/** Who a session authenticated as at CONNECT; absent for anonymous sessions. */
export interface ClientIdentity {
  credentialId: string;
  kind: ClientCredentialKind;
  applicationName: string;
  /** Gateway binding at CONNECT time; a change of the binding ends the session. */
  boundEndpoints: readonly string[];
}

/** A credential as shown to operators: never the password hash. */
export type ClientCredentialView = Omit<ClientCredentialRecord, 'passwordHash'>;

export function credentialView(record: ClientCredentialRecord): ClientCredentialView {
  const { passwordHash: _hidden, ...view } = record;
  return view;
}

export function identityOf(record: ClientCredentialRecord): ClientIdentity {
  return {
    credentialId: record.credentialId,
    kind: record.kind,
    applicationName: record.applicationName,
    boundEndpoints: Object.freeze([...record.boundEndpoints]),
  };
}

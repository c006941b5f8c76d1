export { createClientAuth, USERNAME_PATTERN, MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from './service.js';
export type { ClientAuthService, ClientAuthDeps, CreateClientCredentialInput, StatusAction, ConnectAttempt, ConnectOutcome, RefusalReason, PeerInfo } from './service.js';
export { createMqttClientAuth, ConnectRefused } from './mqtt.js';
export type { MqttClientAuth } from './mqtt.js';
export { CLIENT_AUTH_MODES, credentialView } from './types.js';
export type { ClientAuthConfig, ClientAuthMode, ClientIdentity, ClientCredentialView } from './types.js';
export { modeOf, admit } from './policy.js';
export { FINGERPRINT_PATTERN, normalizeFingerprint } from './certificate.js';

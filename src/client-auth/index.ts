export { createClientAuth, MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from './service.js';
export type { ClientAuthService, CreateClientCredentialInput, StatusAction } from './service.js';
export { createMqttClientAuth } from './mqtt.js';
export type { MqttClientAuth } from './mqtt.js';
export type { ClientAuthConfig } from './types.js';
export { admit } from './policy.js';

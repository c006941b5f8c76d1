export { createMqttServer } from './server.js';
export type { MqttServer, MqttServerDeps } from './server.js';

export { KP1_PREFIX, MAX_REQUEST_ID, parseKpTopic, redactTopic } from './topic.js';
export type { KpTopic } from './topic.js';
export { errorPayload, errorTopic, statusTopic } from './response.js';
export type { KpErrorPayload } from './response.js';

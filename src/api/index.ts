export { createApiServer, type ApiDeps } from './server.js';
export type { SessionVerifier } from '../access/control.js';
export { OPENAPI_PATH } from './openapi.js';
export { SECURITY_HEADERS } from './security-headers.js';

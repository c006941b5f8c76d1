export { createApiServer, type ApiDeps } from './server.js';

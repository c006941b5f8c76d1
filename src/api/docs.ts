/**
 * The interactive API reference at /api/docs: Swagger UI from the package (@fastify/swagger-ui
 * ships its assets; nothing loads from a CDN), reading the same document as /api/openapi.json.
 */
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

const API_DOCS_PATH = '/api/docs';

export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: API_DOCS_PATH,
    // validatorUrl null: Swagger UI would otherwise send the document to an online validator.
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null, persistAuthorization: false },
    staticCSP: true,
  });
}

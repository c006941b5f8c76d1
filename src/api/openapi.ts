/** The OpenAPI document, built by @fastify/swagger from the route schemas and served unauthenticated. */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export const OPENAPI_PATH = '/api/openapi.json';

/** Must be registered before the routes: swagger collects them as they are added. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tether REST API',
        version: '1',
        description:
          'Endpoints and metadata (Kaa EPR paths under /epr/api/v1), tokens (Kaa CM paths under /cm/api/v1), applications, users, API keys, audit log, export/import (/api/v1). Each route needs a role: viewer (reads), operator (endpoint, token and metadata changes), admin (everything); see docs/accounts.md. Every error is {status, code, message}.',
      },
      components: { securitySchemes: { adminApiKey: { type: 'http', scheme: 'bearer', description: 'The admin API key, or a named API key (its role applies).' } } },
      security: [{ adminApiKey: [] }],
      tags: [
        { name: 'endpoints', description: 'Kaa EPR: endpoint registry' },
        { name: 'metadata', description: 'Kaa EPR: endpoint metadata (10/EPMP data)' },
        { name: 'tokens', description: 'Kaa CM: endpoint tokens' },
        { name: 'applications', description: 'Applications and application versions' },
        { name: 'accounts', description: 'Users, roles, API keys and sign-in throttles (admin)' },
        { name: 'audit', description: 'Who changed what (admin)' },
        { name: 'software', description: 'Kaa OTAO: software versions, what endpoints run (cmx_ota)' },
        { name: 'rollouts', description: 'Rollouts of software versions: rate, abort rule, pause/resume/cancel (beyond Kaa, after AWS IoT Jobs)' },
      ],
    },
    // Keep the shared schemas' $id as their component names (Endpoint, Token, Error, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}

export function openApiRoute(app: FastifyInstance): void {
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send(app.swagger());
  });
}

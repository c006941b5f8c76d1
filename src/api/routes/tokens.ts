/** Kaa CM: endpoint tokens under /cm/api/v1. */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LIMITS } from '../../core/limits.js';
import type { Services } from '../../core/services.js';
import { tokenView } from '../present.js';
import { endpointParams, errorResponses, ref, tokenInput, tokenParams } from '../schemas.js';

export const CM = '/cm/api/v1';

const ACTIONS = ['suspend', 'reactivate', 'revoke'] as const;

const ACTION_SUMMARY: Record<(typeof ACTIONS)[number], string> = {
  suspend: 'Suspend a token (ACTIVE or INACTIVE -> SUSPENDED); sessions using it are disconnected',
  reactivate: 'Reactivate a suspended token (SUSPENDED -> ACTIVE)',
  revoke: 'Revoke a token for good (-> REVOKED); sessions using it are disconnected',
};

export function tokenRoutes(app: FastifyInstance, services: Services, options: { issuePerMinute: number } = { issuePerMinute: DEFAULT_LIMITS.tokenIssuePerMinute }): void {
  const tags = ['tokens'];

  app.get<{ Params: { endpointId: string } }>(
    `${CM}/endpoints/:endpointId/tokens`,
    {
      schema: {
        tags,
        summary: 'List an endpoint\'s tokens',
        params: endpointParams,
        response: { 200: { type: 'array', items: ref('Token') }, ...errorResponses },
      },
    },
    async (request) => {
      await services.registry.getEndpoint(request.params.endpointId, false);
      return (await services.credentials.listTokens(request.params.endpointId)).map(tokenView);
    },
  );

  app.post<{ Params: { endpointId: string }; Body: { token?: string } | null }>(
    `${CM}/endpoints/:endpointId/tokens`,
    {
      // limits.tokenIssuePerMinute: per client IP (@fastify/rate-limit, registered in server.ts).
      config: { rateLimit: { max: options.issuePerMinute, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'Issue a token',
        description: 'Issues a custom or generated token (INACTIVE until first used). The plain token is returned only here. The body may be left out.',
        params: endpointParams,
        body: {
          type: ['object', 'null'],
          properties: { token: tokenInput },
        },
        response: { 201: ref('IssuedToken'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const issued = await services.credentials.issueToken(request.params.endpointId, request.body?.token ?? undefined);
      void reply.code(201);
      return { tokenId: issued.record.tokenId, token: issued.token, status: issued.record.status };
    },
  );

  for (const action of ACTIONS) {
    app.post<{ Params: { endpointId: string; tokenId: string } }>(
      `${CM}/endpoints/:endpointId/tokens/:tokenId/${action}`,
      {
        schema: {
          tags,
          summary: ACTION_SUMMARY[action],
          params: tokenParams,
          response: { 200: ref('Token'), ...errorResponses },
        },
      },
      async (request) => {
        const { endpointId, tokenId } = request.params;
        return tokenView(await services.credentials.changeTokenStatus(endpointId, tokenId, action));
      },
    );
  }
}

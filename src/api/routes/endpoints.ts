/** Kaa EPR: endpoints under /epr/api/v1. */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../core/services.js';
import type { Metadata } from '../../core/types.js';
import { type EndpointListQuery, endpointListQuerySchema, includes, toEndpointQuery } from '../endpoint-query.js';
import { type SoftwareVersions, endpointView, endpointViews, versionLookup, withSoftwareVersions } from '../present.js';
import { listBySoftwareVersion, softwareSortOf } from '../software-sort.js';
import { endpointIdInput, endpointParams, errorResponses, metadataInput, noContent, ref, tokenInput } from '../schemas.js';

export const EPR = '/epr/api/v1';

interface CreateEndpointBody {
  appVersion: { name: string };
  metadata?: Metadata;
  endpointToken?: string;
  endpointId?: string;
}

const includeQuery = {
  type: 'object',
  properties: {
    include: { type: 'array', items: { type: 'string', enum: ['metadata', 'software'] }, description: '`metadata` adds the endpoint metadata; `software` the software version it runs (softwareVersion).' },
  },
} as const;

export function endpointRoutes(app: FastifyInstance, services: Services, software?: SoftwareVersions): void {
  const tags = ['endpoints'];

  app.post<{ Body: CreateEndpointBody }>(
    `${EPR}/endpoints`,
    {
      schema: {
        tags,
        summary: 'Register an endpoint',
        description: 'Creates the endpoint with its first token (INACTIVE until first used over 1/KP). The plain token is returned only here.',
        body: {
          type: 'object',
          required: ['appVersion'],
          properties: {
            appVersion: {
              type: 'object',
              required: ['name'],
              properties: { name: { type: 'string', minLength: 1, description: 'Application version name, e.g. "demo_application_v1".' } },
              description: 'the application version to register under; send {"name": "<application version>"}',
            },
            metadata: metadataInput,
            endpointToken: tokenInput,
            endpointId: endpointIdInput,
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['endpointId', 'token', 'status'],
            properties: {
              endpointId: { type: 'string' },
              token: { type: 'string', description: 'The endpoint token, shown only once.' },
              tokenId: { type: 'string' },
              status: { type: 'string', description: 'Token status.' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { appVersion, metadata, endpointToken, endpointId } = request.body;
      const created = await services.registry.createEndpoint({
        appVersionName: appVersion.name,
        ...(metadata !== undefined && { metadata }),
        ...(endpointToken !== undefined && { endpointToken }),
        ...(endpointId !== undefined && { endpointId }),
      });
      const id = created.endpoint.endpointId;
      void reply.code(201).header('location', `${EPR}/endpoints/${encodeURIComponent(id)}`);
      return { endpointId: id, token: created.token, tokenId: created.tokenRecord.tokenId, status: created.tokenRecord.status };
    },
  );

  app.get<{ Querystring: EndpointListQuery }>(
    `${EPR}/endpoints`,
    {
      schema: {
        tags,
        summary: 'List endpoints',
        description:
          'Filters combine with AND. Metadata filters: `metadata.<key>=<value>` (exact) and `filter=` expressions (`<key>~<text>` contains, `<key>=<value>` equals, `<key>` exists). Paged with offset/limit; totalElements counts all matches.',
        querystring: endpointListQuerySchema,
        response: {
          200: {
            type: 'object',
            required: ['totalElements', 'content'],
            properties: { totalElements: { type: 'integer' }, content: { type: 'array', items: ref('Endpoint') } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const bySoftware = software && softwareSortOf(request.query.sort);
      if (software && bySoftware) {
        const { sort: _sort, ...rest } = request.query;
        const { page, versions } = await listBySoftwareVersion(services, software, toEndpointQuery(rest), bySoftware);
        const views = await endpointViews(services, page.content);
        if (includes(request.query, 'software')) for (const view of views) view.softwareVersion = versions.get(view.endpointId) ?? null;
        return { totalElements: page.totalElements, content: views };
      }
      const page = await services.registry.listEndpoints(toEndpointQuery(request.query));
      const views = await endpointViews(services, page.content);
      return { totalElements: page.totalElements, content: includes(request.query, 'software') ? await withSoftwareVersions(views, software) : views };
    },
  );

  app.get<{ Params: { endpointId: string }; Querystring: { include?: string[] } }>(
    `${EPR}/endpoints/:endpointId`,
    {
      schema: {
        tags,
        summary: 'Get an endpoint',
        params: endpointParams,
        querystring: includeQuery,
        response: { 200: ref('Endpoint'), ...errorResponses },
      },
    },
    async (request) => {
      const record = await services.registry.getEndpoint(request.params.endpointId, request.query.include?.includes('metadata') ?? false);
      const view = endpointView(record, await versionLookup(services)(record.appVersionName));
      return request.query.include?.includes('software') ? (await withSoftwareVersions([view], software))[0] : view;
    },
  );

  app.delete<{ Params: { endpointId: string } }>(
    `${EPR}/endpoints/:endpointId`,
    {
      schema: {
        tags,
        summary: 'Delete an endpoint',
        description: 'Deletes the endpoint with its metadata and tokens.',
        params: endpointParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      // Resolve first so an unknown endpoint is a 404 whatever deleteEndpoint does with it.
      await services.registry.getEndpoint(request.params.endpointId, false);
      await services.registry.deleteEndpoint(request.params.endpointId);
      return reply.code(204).send();
    },
  );
}

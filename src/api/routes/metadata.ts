/** Kaa EPR: endpoint metadata under /epr/api/v1. Operators are never restricted by key access rules. */
import type { Operation } from 'fast-json-patch';
import type { FastifyInstance } from 'fastify';
import { errors } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import type { JsonValue, Metadata } from '../../core/types.js';
import { applyJsonPatch, applyMergePatch, JSON_PATCH, jsonPatchSchema, MERGE_PATCH, mergePatchSchema } from '../metadata-patch.js';
import { applicationParams, endpointKeyParams, endpointParams, errorResponses, metadataInput, noContent, ref } from '../schemas.js';
import { EPR } from './endpoints.js';

const anyJson = { description: 'Any JSON value.' } as const;

export function metadataRoutes(app: FastifyInstance, services: Services): void {
  const tags = ['metadata'];
  const { registry } = services;

  app.get<{ Params: { endpointId: string } }>(
    `${EPR}/endpoints/:endpointId/metadata`,
    { schema: { tags, summary: 'Get endpoint metadata', params: endpointParams, response: { 200: ref('Metadata'), ...errorResponses } } },
    async (request) => registry.getMetadata(request.params.endpointId, 'operator'),
  );

  app.put<{ Params: { endpointId: string }; Body: Metadata }>(
    `${EPR}/endpoints/:endpointId/metadata`,
    {
      schema: {
        tags,
        summary: 'Replace endpoint metadata',
        description: 'The body becomes the whole metadata: keys absent from it are removed.',
        params: endpointParams,
        body: metadataInput,
        response: { 200: ref('Metadata'), ...errorResponses },
      },
    },
    async (request) => registry.changeMetadata(request.params.endpointId, { kind: 'replace', metadata: request.body }, 'operator'),
  );

  app.patch<{ Params: { endpointId: string }; Body: Operation[] | JsonValue }>(
    `${EPR}/endpoints/:endpointId/metadata`,
    {
      schema: {
        tags,
        summary: 'Patch endpoint metadata',
        description: `Content-Type ${JSON_PATCH}: RFC 6902 operations. Content-Type ${MERGE_PATCH}: RFC 7386 merge patch. The patched metadata is stored as one replace; a failing "test" operation is 409.`,
        params: endpointParams,
        body: {
          content: {
            [JSON_PATCH]: { schema: jsonPatchSchema },
            [MERGE_PATCH]: { schema: mergePatchSchema },
          },
        },
        response: { 200: ref('Metadata'), ...errorResponses },
      },
    },
    async (request) => {
      const { endpointId } = request.params;
      const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
      if (mediaType !== JSON_PATCH && mediaType !== MERGE_PATCH) {
        throw errors.unsupportedMediaType(mediaType, `${JSON_PATCH} (RFC 6902) or ${MERGE_PATCH} (RFC 7386)`);
      }
      const current = await registry.getMetadata(endpointId, 'operator');
      const next =
        mediaType === JSON_PATCH ? applyJsonPatch(current, request.body as Operation[]) : applyMergePatch(current, request.body as JsonValue);
      return registry.changeMetadata(endpointId, { kind: 'replace', metadata: next }, 'operator');
    },
  );

  app.get<{ Params: { endpointId: string; key: string } }>(
    `${EPR}/endpoints/:endpointId/metadata/:key`,
    { schema: { tags, summary: 'Get one metadata value', params: endpointKeyParams, response: { 200: anyJson, ...errorResponses } } },
    async (request, reply) => {
      const { endpointId, key } = request.params;
      const metadata = await registry.getMetadata(endpointId, 'operator');
      if (!Object.hasOwn(metadata, key)) throw errors.metadataKeyNotFound(key);
      // Serialize here: a bare string or null would otherwise be sent as text, not JSON.
      return reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send(metadata[key]);
    },
  );

  app.put<{ Params: { endpointId: string; key: string }; Body: JsonValue }>(
    `${EPR}/endpoints/:endpointId/metadata/:key`,
    {
      schema: {
        tags,
        summary: 'Set one metadata value',
        description: 'The body is the raw JSON value, e.g. "A300" or {"lat": 1.5}.',
        params: endpointKeyParams,
        body: anyJson,
        response: { 200: anyJson, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpointId, key } = request.params;
      if (request.body === undefined) throw errors.validation(`body is missing; send the JSON value for ${JSON.stringify(key)} with Content-Type application/json`);
      const value = request.body;
      const metadata = await registry.changeMetadata(endpointId, { kind: 'merge', metadata: { [key]: value } }, 'operator');
      return reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send(metadata[key] ?? value);
    },
  );

  app.delete<{ Params: { endpointId: string; key: string } }>(
    `${EPR}/endpoints/:endpointId/metadata/:key`,
    { schema: { tags, summary: 'Delete one metadata key', params: endpointKeyParams, response: { 204: noContent, ...errorResponses } } },
    async (request, reply) => {
      const { endpointId, key } = request.params;
      const metadata = await registry.getMetadata(endpointId, 'operator');
      if (!Object.hasOwn(metadata, key)) throw errors.metadataKeyNotFound(key);
      await registry.changeMetadata(endpointId, { kind: 'delete', keys: [key] }, 'operator');
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { endpointId: string } }>(
    `${EPR}/endpoints/:endpointId/metadata-keys`,
    { schema: { tags, summary: 'List the endpoint\'s metadata keys', params: endpointParams, response: { 200: ref('KeyList'), ...errorResponses } } },
    async (request) => registry.metadataKeys(request.params.endpointId, 'operator'),
  );

  app.get<{ Params: { applicationName: string } }>(
    `${EPR}/applications/:applicationName/metadata-keys`,
    {
      schema: {
        tags,
        summary: 'List metadata keys used in an application',
        params: applicationParams,
        response: { 200: ref('KeyList'), ...errorResponses },
      },
    },
    async (request) => {
      await services.applications.getApplication(request.params.applicationName);
      return registry.applicationMetadataKeys(request.params.applicationName);
    },
  );
}

/**
 * Kaa ECR: configurations under /ecr/api/v1, in Kaa's paths and shapes (docs/control.md). The body
 * of a PUT is the raw JSON configuration; `?name=` names a configuration, and `default` (what
 * Kaa's REST client always sends) or no name means the default one, delivered on `…/config/json`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ConfigStatusRecord, ConfigurationRecord } from '../../core/control.js';
import { DEFAULT_CONFIG_NAME } from '../../core/control.js';
import { errors } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import { ConfigurationService } from '../../configuration/service.js';
import { springPage } from '../present.js';
import { endpointIdInput, errorResponses, versionNameInput } from '../schemas.js';

export const ECR = '/ecr/api/v1';

const tags = ['configurations'];
const nameQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', maxLength: 64, description: 'Configuration name (7/CMP); absent or "default": the default configuration.' } },
} as const;
const endpointVersionParams = {
  type: 'object',
  required: ['endpointId', 'appVersionName'],
  properties: { endpointId: endpointIdInput, appVersionName: versionNameInput },
} as const;
const versionParams = { type: 'object', required: ['appVersionName'], properties: { appVersionName: versionNameInput } } as const;
const anyJson = { description: 'The configuration: any JSON document.' } as const;
const configurationView = {
  type: 'object',
  properties: {
    configId: { type: 'string' },
    name: { type: 'string' },
    config: {},
    createdDate: { type: 'string' },
    updatedDate: { type: 'string' },
  },
} as const;

type NameQuery = { Querystring: { name?: string } };
type EndpointScope = NameQuery & { Params: { endpointId: string; appVersionName: string } };
type VersionScope = NameQuery & { Params: { appVersionName: string } };

/** The ECR answer: Kaa's fields, `name` "default" for the default configuration. */
export function presentConfiguration(record: ConfigurationRecord) {
  return {
    configId: record.configId,
    name: record.name === DEFAULT_CONFIG_NAME ? 'default' : record.name,
    config: record.config,
    createdDate: record.createdDate,
    updatedDate: record.updatedDate,
  };
}

export function statusView(record: ConfigStatusRecord) {
  return { ...record, name: record.name === DEFAULT_CONFIG_NAME ? 'default' : record.name };
}

/** If-Match carries a quoted ETag (or `*`); weak validators compare by their value. */
function ifMatch(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  return trimmed.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function answer(reply: FastifyReply, record: ConfigurationRecord) {
  void reply.header('etag', `"${record.configId}"`);
  return presentConfiguration(record);
}

export function configurationRoutes(app: FastifyInstance, configurations: ConfigurationService): void {
  const nameOf = (query: { name?: string }) => ConfigurationService.restName(query.name);
  const endpointKey = (p: { endpointId: string; appVersionName: string }, q: { name?: string }) => ({ endpointId: p.endpointId, appVersionName: p.appVersionName, name: nameOf(q) });
  const defaultKey = (p: { appVersionName: string }, q: { name?: string }) => ({ endpointId: '', appVersionName: p.appVersionName, name: nameOf(q) });

  // --- one endpoint ----------------------------------------------------------------------------
  const endpointPath = `${ECR}/endpoints/:endpointId/app-versions/:appVersionName`;
  app.put<EndpointScope & { Body: JsonValue }>(
    endpointPath,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Set an endpoint's configuration",
        description: 'The body is the configuration itself. It reaches the device at once when it is connected (7/CMP push), else when it connects. If-Match makes the write conditional (412 when the configuration changed).',
        params: endpointVersionParams,
        querystring: nameQuery,
        body: anyJson,
        response: { 200: configurationView, ...errorResponses },
      },
    },
    async (request, reply) => answer(reply, await configurations.put(endpointKey(request.params, request.query), request.body ?? null, ifMatch(request.headers['if-match']))),
  );
  app.get<EndpointScope>(
    endpointPath,
    { config: { access: 'viewer' }, schema: { tags, summary: "An endpoint's own configuration", params: endpointVersionParams, querystring: nameQuery, response: { 200: configurationView, ...errorResponses } } },
    async (request, reply) => answer(reply, await configurations.get(endpointKey(request.params, request.query))),
  );
  app.delete<EndpointScope>(
    endpointPath,
    {
      config: { access: 'operator' },
      schema: { tags, summary: "Remove an endpoint's configuration (it falls back to the version's default)", params: endpointVersionParams, querystring: nameQuery, response: { 204: { type: 'null' }, ...errorResponses } },
    },
    async (request, reply) => {
      await configurations.remove(endpointKey(request.params, request.query), ifMatch(request.headers['if-match']));
      return reply.code(204).send();
    },
  );
  app.get<{ Params: { endpointId: string; appVersionName: string } }>(
    `${endpointPath}/configurations`,
    { config: { access: 'viewer' }, schema: { tags, summary: "Every named configuration of an endpoint (its own; defaults not included)", params: endpointVersionParams, response: { 200: { type: 'array', items: configurationView }, ...errorResponses } } },
    async (request) => (await configurations.list(request.params.endpointId, request.params.appVersionName)).map(presentConfiguration),
  );

  // --- an application version's default ---------------------------------------------------------
  const versionPath = `${ECR}/app-versions/:appVersionName`;
  app.put<VersionScope & { Body: JsonValue }>(
    versionPath,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Set an application version's default configuration",
        description: 'Every endpoint of the version without a configuration of its own (by that name) gets it, pushed to connected devices at once.',
        params: versionParams,
        querystring: nameQuery,
        body: anyJson,
        response: { 200: configurationView, ...errorResponses },
      },
    },
    async (request, reply) => answer(reply, await configurations.put(defaultKey(request.params, request.query), request.body ?? null, ifMatch(request.headers['if-match']))),
  );
  app.get<VersionScope>(
    versionPath,
    { config: { access: 'viewer' }, schema: { tags, summary: "An application version's default configuration", params: versionParams, querystring: nameQuery, response: { 200: configurationView, ...errorResponses } } },
    async (request, reply) => answer(reply, await configurations.get(defaultKey(request.params, request.query))),
  );
  app.delete<VersionScope>(
    versionPath,
    { config: { access: 'operator' }, schema: { tags, summary: "Remove an application version's default configuration", params: versionParams, querystring: nameQuery, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (request, reply) => {
      await configurations.remove(defaultKey(request.params, request.query), ifMatch(request.headers['if-match']));
      return reply.code(204).send();
    },
  );
  app.get<{ Params: { appVersionName: string } }>(
    `${versionPath}/configurations`,
    { config: { access: 'viewer' }, schema: { tags, summary: "Every default configuration of an application version, by name", params: versionParams, response: { 200: { type: 'array', items: configurationView }, ...errorResponses } } },
    async (request) => (await configurations.list('', request.params.appVersionName)).map(presentConfiguration),
  );

  // --- schemas (optional, per version and name) ----------------------------------------------------
  const schemaPath = `${versionPath}/schema`;
  app.get<VersionScope>(
    schemaPath,
    { config: { access: 'viewer' }, schema: { tags, summary: 'The JSON Schema configurations of this version and name must match (404 when none)', params: versionParams, querystring: nameQuery } },
    async (request) => {
      const schema = await configurations.getSchema(request.params.appVersionName, nameOf(request.query));
      if (schema === undefined) throw errors.notFound(`A configuration schema for application version ${JSON.stringify(request.params.appVersionName)} (set one with PUT)`);
      return schema;
    },
  );
  app.put<VersionScope & { Body: JsonValue }>(
    schemaPath,
    { config: { access: 'admin' }, schema: { tags, summary: 'Set the JSON Schema that validates configurations of this version and name on write', params: versionParams, querystring: nameQuery, body: { type: 'object' } } },
    async (request, reply) => {
      await configurations.putSchema(request.params.appVersionName, nameOf(request.query), request.body);
      return reply.code(204).send();
    },
  );
  app.delete<VersionScope>(
    schemaPath,
    { config: { access: 'admin' }, schema: { tags, summary: 'Remove the configuration schema', params: versionParams, querystring: nameQuery } },
    async (request, reply) => {
      await configurations.deleteSchema(request.params.appVersionName, nameOf(request.query));
      return reply.code(204).send();
    },
  );

  // --- many endpoints ----------------------------------------------------------------------------
  app.put<NameQuery & { Body: { configPayload: JsonValue; endpoints: Record<string, string[]> } }>(
    `${ECR}/endpoints/batch`,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'One configuration for many endpoints',
        description: 'Kaa ECR batch: `endpoints` maps each application version to the endpoint IDs that get `configPayload` as their own configuration.',
        querystring: nameQuery,
        body: {
          type: 'object',
          required: ['configPayload', 'endpoints'],
          additionalProperties: false,
          properties: {
            configPayload: {},
            endpoints: { type: 'object', additionalProperties: { type: 'array', maxItems: 100_000, items: endpointIdInput } },
          },
        },
        response: { 200: { type: 'object', properties: { updated: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request) => ({ updated: await configurations.putMany(request.body.endpoints, nameOf(request.query), request.body.configPayload) }),
  );

  app.get<{ Querystring: { endpointId?: string; appVersionName?: string; configId?: string; name?: string; page?: number; size?: number } }>(
    `${ECR}/statuses`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Delivery statuses: which configuration was dispatched to which endpoint, and what the device said of it',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            endpointId: endpointIdInput,
            appVersionName: versionNameInput,
            configId: { type: 'string', maxLength: 128 },
            name: { type: 'string', maxLength: 64 },
            page: { type: 'integer', minimum: 0, default: 0 },
            size: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const { page = 0, size = 20, name, ...filter } = request.query;
      const result = await configurations.statuses({ ...filter, ...(name !== undefined && { name: nameOf({ name }) }), offset: page * size, limit: size });
      return springPage({ totalElements: result.totalElements, content: result.content.map(statusView) }, page * size, size);
    },
  );
}

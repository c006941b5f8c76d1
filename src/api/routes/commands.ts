/**
 * Kaa CEX: commands under /cex/api/v1, in Kaa's paths and shapes (docs/control.md). A command is
 * stored before it is sent; `awaitTimeout` makes the call wait for the device's result (200) and
 * answer 202 with `Location` when the device has not answered in time.
 */
import type { FastifyInstance } from 'fastify';
import type { CommandService } from '../../commands/service.js';
import { MAX_BATCH_ENDPOINTS } from '../../commands/service.js';
import type { CommandRecord, CommandTaskProgress } from '../../core/control.js';
import { errors } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import type { JsonValue } from '../../core/types.js';
import { type EndpointListQuery, endpointListQuerySchema, toEndpointQuery } from '../endpoint-query.js';
import { applicationNameInput, endpointIdInput, errorResponses } from '../schemas.js';
import { allMatchingEndpointIds } from '../../registry/all-matches.js';

export const CEX_API = '/cex/api/v1';

const tags = ['commands'];
const commandType = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$', description: 'Command type (11/CEP): letters, digits, _ and -.' } as const;
const commandView = {
  type: 'object',
  properties: {
    commandId: { type: 'string' },
    commandType: { type: 'string' },
    endpointId: { type: 'string' },
    applicationName: { type: 'string' },
    status: { type: 'string', enum: ['PENDING', 'EXECUTED', 'EXPIRED'] },
    statusCode: { type: ['integer', 'null'] },
    reasonPhrase: { type: ['string', 'null'] },
    requestPayload: {},
    responsePayload: {},
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    expiresAt: { type: 'string' },
    lastDispatchedAt: { type: ['string', 'null'] },
    taskId: { type: ['string', 'null'] },
  },
} as const;
const commandParams = {
  type: 'object',
  required: ['endpointId', 'commandType'],
  properties: { endpointId: endpointIdInput, commandType },
} as const;
const sendQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    awaitTimeout: { type: 'integer', minimum: 0, maximum: 60, default: 5, description: 'Seconds to wait for the device’s result (Kaa: default 5, at most 60). 0: answer 202 at once.' },
    commandTtl: { type: 'integer', minimum: 1, description: 'Milliseconds the command stays deliverable (Kaa: default 60,000). After it, the command is EXPIRED and never sent.' },
  },
} as const;
const ttlBody = { type: 'integer', minimum: 1, description: 'Milliseconds the commands stay deliverable (default 60,000).' } as const;

/** The CEX answer; `commandId` is the 11/CEP `id` the device sees, as a string (Kaa's REST clients pass it in paths). */
export function presentCommand(c: CommandRecord) {
  return {
    commandId: String(c.id),
    commandType: c.commandType,
    endpointId: c.endpointId,
    applicationName: c.applicationName,
    status: c.status,
    statusCode: c.statusCode,
    reasonPhrase: c.reasonPhrase,
    requestPayload: c.requestPayload,
    responsePayload: c.responsePayload,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    expiresAt: c.expiresAt,
    lastDispatchedAt: c.lastDispatchedAt,
    taskId: c.taskId,
  };
}

export function presentTask(t: CommandTaskProgress) {
  const { requestPayload, ...rest } = t;
  return { ...rest, payload: requestPayload };
}

function commandPath(c: CommandRecord): string {
  return `${CEX_API}/endpoints/${encodeURIComponent(c.endpointId)}/commands/${c.commandType}/${c.id}`;
}

function commandId(text: string): number {
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw errors.commandParameterInvalid('commandId', 'must be the numeric ID a command was given');
  return id;
}

/** A command body is JSON or text (Content-Type text/plain); none at all is a null payload. */
function payloadOf(body: unknown): JsonValue {
  return body === undefined ? null : (body as JsonValue);
}

export function commandRoutes(app: FastifyInstance, commands: CommandService, services: Services): void {
  app.post<{ Params: { endpointId: string; commandType: string }; Querystring: { awaitTimeout?: number; commandTtl?: number }; Body: unknown }>(
    `${CEX_API}/endpoints/:endpointId/commands/:commandType`,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Send a command to an endpoint',
        description: 'The body is the command payload (JSON, or text with Content-Type text/plain). 200 with the command once the device reported its result within awaitTimeout; 202 with Location otherwise (the command stays PENDING and reaches the device when it connects, until commandTtl runs out).',
        params: commandParams,
        querystring: sendQuery,
        body: { description: 'The command payload.' },
        response: { 200: commandView, 202: commandView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpointId, commandType: type } = request.params;
      const sent = await commands.send({ endpointId, commandType: type, payload: payloadOf(request.body), ...(request.query.commandTtl !== undefined && { ttlMs: request.query.commandTtl }) });
      const now = await commands.awaitResult(sent, (request.query.awaitTimeout ?? 5) * 1000);
      if (now.status === 'PENDING') void reply.code(202).header('location', commandPath(now));
      return presentCommand(now);
    },
  );

  app.get<{ Params: { endpointId: string; commandType: string } }>(
    `${CEX_API}/endpoints/:endpointId/commands/:commandType/last`,
    { config: { access: 'viewer' }, schema: { tags, summary: 'The newest command of the type for the endpoint', params: commandParams, response: { 200: commandView, ...errorResponses } } },
    async (request) => presentCommand(await commands.last(request.params.endpointId, request.params.commandType)),
  );

  const oneParams = { type: 'object', required: ['endpointId', 'commandType', 'commandId'], properties: { endpointId: endpointIdInput, commandType, commandId: { type: 'string', maxLength: 16 } } } as const;
  type One = { Params: { endpointId: string; commandType: string; commandId: string } };
  app.get<One>(
    `${CEX_API}/endpoints/:endpointId/commands/:commandType/:commandId`,
    { config: { access: 'viewer' }, schema: { tags, summary: 'One command with its status and result', params: oneParams, response: { 200: commandView, ...errorResponses } } },
    async (request) => presentCommand(await commands.get(request.params.endpointId, request.params.commandType, commandId(request.params.commandId))),
  );
  app.delete<One>(
    `${CEX_API}/endpoints/:endpointId/commands/:commandType/:commandId`,
    { config: { access: 'operator' }, schema: { tags, summary: 'Delete a command (a pending one is then never sent)', params: oneParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (request, reply) => {
      await commands.remove(request.params.endpointId, request.params.commandType, commandId(request.params.commandId));
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { endpointId: string; commandTypes?: string; offset?: number; limit?: number } }>(
    `${CEX_API}/endpoints/commands`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "An endpoint's commands, newest first",
        querystring: {
          type: 'object',
          required: ['endpointId'],
          additionalProperties: false,
          properties: {
            endpointId: endpointIdInput,
            commandTypes: { type: 'string', description: 'Comma-separated command types.' },
            offset: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: { 200: { type: 'array', items: commandView }, ...errorResponses },
      },
    },
    async (request) => {
      await services.registry.getEndpoint(request.query.endpointId, false);
      const page = await commands.list({ endpointIds: [request.query.endpointId], commandTypes: splitList(request.query.commandTypes), offset: request.query.offset ?? 0, limit: request.query.limit ?? 100 });
      return page.content.map(presentCommand);
    },
  );

  app.get<{ Params: { applicationName: string }; Querystring: { commandTypes?: string; page?: number; size?: number } }>(
    `${CEX_API}/endpoints/commands/:applicationName`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "An application's commands, newest first (paged)",
        params: { type: 'object', required: ['applicationName'], properties: { applicationName: applicationNameInput } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            commandTypes: { type: 'string', description: 'Comma-separated command types.' },
            page: { type: 'integer', minimum: 0, default: 0 },
            size: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      await services.applications.getApplication(request.params.applicationName);
      const page = request.query.page ?? 0;
      const size = request.query.size ?? 20;
      const result = await commands.list({ applicationName: request.params.applicationName, commandTypes: splitList(request.query.commandTypes), offset: page * size, limit: size });
      return { content: result.content.map(presentCommand), totalElements: result.totalElements, totalPages: Math.ceil(result.totalElements / size), number: page, size };
    },
  );

  app.post<{ Body: { endpointIds: string[]; commandTypes: string[] } }>(
    `${CEX_API}/endpoints/commands/last`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'The newest command of each type for each endpoint',
        body: {
          type: 'object',
          required: ['endpointIds', 'commandTypes'],
          additionalProperties: false,
          properties: { endpointIds: { type: 'array', maxItems: 1000, items: endpointIdInput }, commandTypes: { type: 'array', maxItems: 100, items: commandType } },
        },
        response: { 200: { type: 'array', items: commandView }, ...errorResponses },
      },
    },
    async (request) => (await commands.lastOf(request.body.endpointIds, request.body.commandTypes)).map(presentCommand),
  );

  // --- batches -------------------------------------------------------------------------------------
  app.post<{ Params: { commandType: string }; Body: { payload?: JsonValue; payloadContentType?: string; endpointIds: string[]; commandTtl?: number } }>(
    `${CEX_API}/endpoints/commands/:commandType/batch/by-endpoints`,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'One command to many endpoints (a batch task)',
        description: 'Answers {taskId}; progress at GET …/batch/tasks/{taskId}. The endpoints must belong to one application.',
        params: { type: 'object', required: ['commandType'], properties: { commandType } },
        body: {
          type: 'object',
          required: ['endpointIds'],
          additionalProperties: false,
          properties: {
            payload: {},
            payloadContentType: { type: 'string', maxLength: 100 },
            endpointIds: { type: 'array', minItems: 1, maxItems: MAX_BATCH_ENDPOINTS, items: endpointIdInput },
            commandTtl: ttlBody,
          },
        },
        response: { 200: { type: 'object', properties: { taskId: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request) => {
      const first = await services.registry.getEndpoint(request.body.endpointIds[0]!, false);
      const task = await commands.sendBatch({
        applicationName: first.applicationName,
        commandType: request.params.commandType,
        payload: request.body.payload ?? null,
        endpointIds: request.body.endpointIds,
        ...(request.body.commandTtl !== undefined && { ttlMs: request.body.commandTtl }),
      });
      return { taskId: task.taskId };
    },
  );

  app.post<{ Params: { commandType: string }; Querystring: EndpointListQuery & { applicationName: string }; Body: { payload?: JsonValue; commandTtl?: number } }>(
    `${CEX_API}/endpoints/commands/:commandType/batch/by-query`,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'One command to every endpoint the Endpoint List’s search and filters match (beyond Kaa)',
        description: 'The query parameters are those of GET /epr/api/v1/endpoints (applicationName required; search, filter, connected, metadata.<key>); paging is ignored: every match is addressed, up to 100,000.',
        params: { type: 'object', required: ['commandType'], properties: { commandType } },
        querystring: { ...endpointListQuerySchema, required: ['applicationName'] },
        body: { type: 'object', additionalProperties: false, properties: { payload: {}, commandTtl: ttlBody } },
        response: { 200: { type: 'object', properties: { taskId: { type: 'string' }, endpointCount: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request) => {
      const { offset: _offset, limit: _limit, ...query } = toEndpointQuery(request.query);
      const matches = await allMatchingEndpointIds(services.registry, { ...query, applicationName: request.query.applicationName }, MAX_BATCH_ENDPOINTS);
      if (matches.total > MAX_BATCH_ENDPOINTS) throw errors.validation(`the search matches ${matches.total} endpoints; a batch addresses at most ${MAX_BATCH_ENDPOINTS}. Narrow it down`);
      if (matches.endpointIds.length === 0) throw errors.validation('the search matches no endpoint');
      const task = await commands.sendBatch({
        applicationName: request.query.applicationName,
        commandType: request.params.commandType,
        payload: request.body?.payload ?? null,
        endpointIds: matches.endpointIds,
        ...(request.body?.commandTtl !== undefined && { ttlMs: request.body.commandTtl }),
      });
      return { taskId: task.taskId, endpointCount: task.endpointCount };
    },
  );

  app.get<{ Querystring: { appName?: string; offset?: number; limit?: number } }>(
    `${CEX_API}/endpoints/commands/batch/tasks`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Batch tasks, newest first, with their progress',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { appName: applicationNameInput, offset: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const page = await commands.tasks(request.query.appName, request.query.offset ?? 0, request.query.limit ?? 20);
      return { content: page.content.map(presentTask), totalElements: page.totalElements };
    },
  );

  app.get<{ Params: { taskId: string }; Querystring: { appName?: string; include?: string } }>(
    `${CEX_API}/endpoints/commands/batch/tasks/:taskId`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "A batch task's progress: counts, and with include=commands its commands",
        params: { type: 'object', required: ['taskId'], properties: { taskId: { type: 'string', maxLength: 64 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { appName: applicationNameInput, include: { type: 'string', enum: ['commands'] } } },
        response: errorResponses,
      },
    },
    async (request) => {
      const task = await commands.task(request.params.taskId);
      if (request.query.appName !== undefined && request.query.appName !== task.applicationName) throw errors.commandTaskNotFound(request.params.taskId);
      if (request.query.include !== 'commands') return presentTask(task);
      const list = await commands.list({ taskId: task.taskId, offset: 0, limit: 1000 });
      const of = (status: string) => list.content.filter((c) => c.status === status).map(presentCommand);
      return { ...presentTask(task), pendingCommands: of('PENDING'), executedCommands: of('EXECUTED'), expiredCommands: of('EXPIRED') };
    },
  );
}

function splitList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return items.length > 0 ? items : undefined;
}

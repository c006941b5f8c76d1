/**
 * Kaa OTAO: software versions under /otao/api/v1, in Kaa's paths and shapes where Kaa documents
 * them (the list), and where it does not, what users expect of the rest (docs/software.md):
 * POST creates (201), GET/PUT/DELETE one version, and the endpoint's software state and history.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../core/services.js';
import type { SoftwareInput, SoftwareService } from '../../software/service.js';
import { endpointSearchBodySchema } from '../endpoint-query.js';
import { springPage } from '../present.js';
import { applicationNameInput, endpointIdInput, errorResponses, noContent } from '../schemas.js';

export const OTAO = '/otao/api/v1';

const tags = ['software'];

const appParams = { type: 'object', required: ['appName'], properties: { appName: applicationNameInput } } as const;
const versionParams = {
  type: 'object',
  required: ['appName', 'version'],
  properties: { appName: applicationNameInput, version: { type: 'string', minLength: 1, maxLength: 256, description: 'Semantic version, e.g. 1.2.0.' } },
} as const;
const endpointParams = { type: 'object', required: ['endpointId'], properties: { endpointId: endpointIdInput } } as const;

const filterQuery = {
  ...endpointSearchBodySchema,
  description:
    'Which endpoints the filter selects, as an Endpoint List search (the parameters of GET /epr/api/v1/endpoints): search, searchKeys, filter (e.g. ["model~A300"]), metadata.<key>, connected, applicationVersionName, endpointId. Absent: every endpoint of the application.',
} as const;

const filterInput = {
  type: 'object',
  required: ['filterId'],
  additionalProperties: false,
  properties: {
    filterId: { type: 'string', minLength: 1, maxLength: 128, description: 'Name of the filter within this version.' },
    rolloutDate: { type: ['string', 'null'], description: "From when the filter's endpoints get the version (Kaa: yyyy-MM-dd'T'HH:mm:ss'Z'); null or absent: at once." },
    query: filterQuery,
  },
} as const;

const bodyProperties = {
  upgradableFrom: {
    type: 'array',
    items: { type: 'string', maxLength: 256 },
    maxItems: 1000,
    description: 'The versions it upgrades: exact versions (1.0.0), semver ranges (1.2.x, >=1.0.0 <2, ^1.4), "*" any, "" devices that never reported a version.',
  },
  specification: { type: 'object', additionalProperties: true, description: 'Free JSON object the device interprets: its 7/CMP config on cmx_ota (with `package` added when the version has one).' },
  metadata: { description: 'Free JSON for operators; never sent to devices.' },
  rolloutStrategy: { type: 'string', enum: ['suspended', 'targeted', 'general'], default: 'suspended', description: 'suspended: offered by rollouts only; targeted: to endpoints matching a filter from its rolloutDate; general: to every endpoint it upgrades.' },
  filters: { type: 'array', items: filterInput, maxItems: 100 },
} as const;

const createBody = {
  type: 'object',
  required: ['version', 'upgradableFrom', 'specification'],
  additionalProperties: false,
  properties: { version: { type: 'string', minLength: 1, maxLength: 256, description: 'Semantic version (semver 2.0), unique within the application.' }, ...bodyProperties },
} as const;

const updateBody = { type: 'object', required: ['upgradableFrom', 'specification'], additionalProperties: false, properties: bodyProperties } as const;

const packageView = {
  type: ['object', 'null'],
  properties: { fileName: { type: 'string' }, contentType: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' }, uploadedAt: { type: 'string' } },
} as const;

const softwareView = {
  type: 'object',
  properties: {
    applicationName: { type: 'string' },
    version: { type: 'string' },
    upgradableFrom: { type: 'array', items: { type: 'string' } },
    specification: {},
    metadata: {},
    rolloutStrategy: { type: 'string' },
    filters: {
      type: 'array',
      items: { type: 'object', properties: { filterId: { type: 'string' }, rolloutDate: { type: ['string', 'null'] }, query: { type: 'object', additionalProperties: true } } },
    },
    package: packageView,
    createdDate: { type: 'string' },
    updatedDate: { type: 'string' },
  },
} as const;

const endpointSoftwareView = {
  type: 'object',
  properties: {
    endpointId: { type: 'string' },
    applicationName: { type: 'string' },
    version: { type: ['string', 'null'], description: 'What the device last reported running on cmx_ota; null before its first report.' },
    reportedAt: { type: ['string', 'null'] },
    lastFailure: {
      type: ['object', 'null'],
      properties: { version: { type: 'string' }, statusCode: { type: 'number' }, reasonPhrase: { type: ['string', 'null'] }, at: { type: 'string' } },
    },
    next: {
      type: ['object', 'null'],
      description: 'The version the device gets when it asks (or is pushed), and why: offer (a rollout), general or targeted.',
      properties: { version: { type: 'string' }, reason: { type: 'string' } },
    },
  },
} as const;

const historyView = {
  type: 'object',
  properties: { version: { type: 'string' }, statusCode: { type: 'number' }, reasonPhrase: { type: ['string', 'null'] }, at: { type: 'string' } },
} as const;

type CreateBody = SoftwareInput & { version: string };

export function softwareRoutes(app: FastifyInstance, software: SoftwareService, services: Services): void {
  const appPath = `${OTAO}/applications/:appName/software`;
  app.get<{ Params: { appName: string } }>(
    appPath,
    { config: { access: 'viewer' }, schema: { tags, summary: "An application's software versions, newest first", params: appParams, response: { 200: { type: 'array', items: softwareView }, ...errorResponses } } },
    async (request) => software.list(request.params.appName),
  );
  app.post<{ Params: { appName: string }; Body: CreateBody }>(
    appPath,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Add a software version',
        description: 'rolloutStrategy defaults to suspended: nobody gets it until a rollout offers it or the strategy changes.',
        params: appParams,
        body: createBody,
        response: { 201: softwareView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { version, ...input } = request.body;
      return reply.code(201).send(await software.create(request.params.appName, version, input));
    },
  );
  const versionPath = `${appPath}/:version`;
  app.get<{ Params: { appName: string; version: string } }>(
    versionPath,
    { config: { access: 'viewer' }, schema: { tags, summary: 'One software version', params: versionParams, response: { 200: softwareView, ...errorResponses } } },
    async (request) => software.get(request.params.appName, request.params.version),
  );
  app.put<{ Params: { appName: string; version: string }; Body: SoftwareInput }>(
    versionPath,
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Change a software version (everything but the version itself)', params: versionParams, body: updateBody, response: { 200: softwareView, ...errorResponses } },
    },
    async (request) => software.update(request.params.appName, request.params.version, request.body),
  );
  app.delete<{ Params: { appName: string; version: string } }>(
    versionPath,
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Remove a software version (its open offers end; devices running it keep reporting it)', params: versionParams, response: { 204: noContent, ...errorResponses } },
    },
    async (request, reply) => {
      await software.remove(request.params.appName, request.params.version);
      return reply.code(204).send();
    },
  );

  const endpointPath = `${OTAO}/endpoints/:endpointId/software`;
  app.get<{ Params: { endpointId: string } }>(
    endpointPath,
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'What the endpoint runs, its last failure, and the version it would get next', params: endpointParams, response: { 200: endpointSoftwareView, ...errorResponses } },
    },
    async (request) => {
      const endpoint = await services.registry.getEndpoint(request.params.endpointId, false);
      return software.endpointState(endpoint.endpointId, endpoint.applicationName);
    },
  );
  app.get<{ Params: { endpointId: string }; Querystring: { offset?: number; limit?: number } }>(
    `${endpointPath}/history`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "The endpoint's software reports (cmx_ota applied), newest first; the newest 100 are kept",
        params: endpointParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { offset: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
        },
        response: { 200: { type: 'object', additionalProperties: true, properties: { content: { type: 'array', items: historyView } } }, ...errorResponses },
      },
    },
    async (request) => {
      await services.registry.getEndpoint(request.params.endpointId, false);
      const offset = request.query.offset ?? 0;
      const limit = request.query.limit ?? 20;
      const page = await software.history(request.params.endpointId, offset, limit);
      return springPage(page, offset, limit);
    },
  );
}

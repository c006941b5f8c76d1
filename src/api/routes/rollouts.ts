/**
 * Rollouts under /otao/api/v1 (beyond Kaa, after AWS IoT Jobs; docs/rollouts.md):
 * create one for an application, list them, read one with its counts, its devices and its chart,
 * pause, resume and cancel it.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../core/errors.js';
import { ROLLOUT_DEVICE_STATES, ROLLOUT_STATES, type Rollout, type RolloutDeviceState, type RolloutState } from '../../core/rollouts.js';
import { MAX_ROLLOUT_ENDPOINTS, type RolloutInput, type RolloutService } from '../../rollouts/service.js';
import { endpointSearchBodySchema } from '../endpoint-query.js';
import { springPage } from '../present.js';
import { applicationNameInput, errorResponses } from '../schemas.js';

const OTAO = '/otao/api/v1';
const tags = ['rollouts'];

const appParams = { type: 'object', required: ['appName'], properties: { appName: applicationNameInput } } as const;
const rolloutParams = { type: 'object', required: ['rolloutId'], properties: { rolloutId: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

const endpointQuery = {
  ...endpointSearchBodySchema,
  description:
    'An Endpoint List search, as the CEX batch by-query route takes it (the parameters of GET /epr/api/v1/endpoints): search, searchKeys, filter (e.g. ["model~A300"]), metadata.<key>, connected, applicationVersionName, endpointId. {}: every endpoint of the application.',
} as const;

const createBody = {
  type: 'object',
  required: ['version', 'target'],
  additionalProperties: false,
  properties: {
    version: { type: 'string', minLength: 1, maxLength: 256, description: 'The software version to offer (it must exist: POST …/software first).' },
    target: {
      type: 'object',
      description: `Which endpoints, fixed when the rollout is created (at most ${MAX_ROLLOUT_ENDPOINTS}): exactly one of appVersionName (every endpoint of that application version), query (an Endpoint List search) or endpointIds (offered in that order).`,
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
      properties: {
        appVersionName: { type: 'string', minLength: 1, maxLength: 128 },
        query: endpointQuery,
        endpointIds: { type: 'array', minItems: 1, maxItems: MAX_ROLLOUT_ENDPOINTS, items: { type: 'string', minLength: 1, maxLength: 128 } },
      },
    },
    rate: {
      type: ['object', 'null'],
      description: 'How fast devices are offered the version. Absent or null: all at once.',
      required: ['perMinute'],
      additionalProperties: false,
      properties: {
        perMinute: { type: 'number', exclusiveMinimum: 0, description: 'Devices offered per minute (spread over the minute, a share every second).' },
        growth: {
          type: 'object',
          required: ['factor', 'everySuccesses'],
          additionalProperties: false,
          description: 'The rate is multiplied by factor after every everySuccesses applied devices (AWS IoT Jobs’ exponential rate).',
          properties: { factor: { type: 'number', minimum: 1 }, everySuccesses: { type: 'integer', minimum: 1 } },
        },
      },
    },
    abort: {
      type: ['object', 'null'],
      description: 'When the rollout stops itself. Absent or null: never.',
      required: ['failurePercent', 'minAttempted'],
      additionalProperties: false,
      properties: {
        failurePercent: { type: 'number', minimum: 0, maximum: 100, description: 'Abort when more than this share of the finished devices failed (timed out counts as failed)…' },
        minAttempted: { type: 'integer', minimum: 1, description: '…once at least this many devices finished (applied, failed or timed out).' },
        reportTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, description: 'A device offered the version that reports nothing for this long is timed_out. Absent: no timeout.' },
      },
    },
  },
} as const;

const countsView = {
  type: 'object',
  properties: Object.fromEntries(ROLLOUT_DEVICE_STATES.map((s) => [s, { type: 'integer' }])),
} as const;

const rolloutView = {
  type: 'object',
  properties: {
    rolloutId: { type: 'string' },
    applicationName: { type: 'string' },
    version: { type: 'string' },
    target: {},
    rate: {},
    abort: {},
    state: { type: 'string', enum: ROLLOUT_STATES },
    reason: { type: ['string', 'null'], description: 'Why it is in its state, in words.' },
    counts: countsView,
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const deviceView = {
  type: 'object',
  properties: {
    endpointId: { type: 'string' },
    state: { type: 'string', enum: ROLLOUT_DEVICE_STATES },
    reason: { type: ['string', 'null'] },
    offeredAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'] },
  },
} as const;

const pageQuery = (states: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      state: { type: 'string', description: `Only these states, comma-separated: ${states.join(', ')}.` },
      offset: { type: 'integer', minimum: 0, default: 0 },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
    },
  }) as const;

const pageView = (item: object) => ({
  type: 'object',
  properties: {
    content: { type: 'array', items: item },
    totalElements: { type: 'integer' },
    totalPages: { type: 'integer' },
    number: { type: 'integer' },
    size: { type: 'integer' },
    numberOfElements: { type: 'integer' },
    first: { type: 'boolean' },
    last: { type: 'boolean' },
    empty: { type: 'boolean' },
  },
});

type PageQuery = { state?: string; offset?: number; limit?: number };

function statesOf<S extends string>(text: string | undefined, known: readonly S[], what: string): S[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const states = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = states.filter((s) => !(known as readonly string[]).includes(s));
  if (unknown.length > 0) throw errors.validation(`query.state ${JSON.stringify(unknown[0])} is not a ${what} state; use ${known.join(', ')}`);
  return states as S[];
}

export function rolloutRoutes(app: FastifyInstance, rollouts: RolloutService): void {
  app.post<{ Params: { appName: string }; Body: RolloutInput }>(
    `${OTAO}/applications/:appName/rollouts`,
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Start a rollout: offer a software version to endpoints at a rate, stopping itself when too many fail',
        description:
          'Devices whose current version the software does not upgrade (or that already run it) are skipped. The rollout offers the rest at the rate, checks the abort rule before every batch, and completes when every device has applied, failed or timed out.',
        params: appParams,
        body: createBody,
        response: { 201: rolloutView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const rollout = await rollouts.create(request.params.appName, request.body);
      return reply.code(201).header('location', `${OTAO}/rollouts/${rollout.rolloutId}`).send(rollout);
    },
  );

  app.get<{ Params: { appName: string }; Querystring: PageQuery }>(
    `${OTAO}/applications/:appName/rollouts`,
    {
      config: { access: 'viewer' },
      schema: { tags, summary: "An application's rollouts, newest first, with their counts", params: appParams, querystring: pageQuery(ROLLOUT_STATES), response: { 200: pageView(rolloutView), ...errorResponses } },
    },
    async (request) => {
      const { offset = 0, limit = 20 } = request.query;
      const page = await rollouts.list(request.params.appName, statesOf<RolloutState>(request.query.state, ROLLOUT_STATES, 'rollout'), offset, limit);
      return springPage<Rollout>(page, offset, limit);
    },
  );

  app.get<{ Params: { rolloutId: string } }>(
    `${OTAO}/rollouts/:rolloutId`,
    { config: { access: 'viewer' }, schema: { tags, summary: 'A rollout: its settings, state with the reason, and how many devices are in each state', params: rolloutParams, response: { 200: rolloutView, ...errorResponses } } },
    async (request) => rollouts.get(request.params.rolloutId),
  );

  app.get<{ Params: { rolloutId: string }; Querystring: PageQuery }>(
    `${OTAO}/rollouts/:rolloutId/devices`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "The rollout's devices in its order, with their state and the reason of a skip, failure or timeout",
        params: rolloutParams,
        querystring: pageQuery(ROLLOUT_DEVICE_STATES),
        response: { 200: pageView(deviceView), ...errorResponses },
      },
    },
    async (request) => {
      const { offset = 0, limit = 20 } = request.query;
      const page = await rollouts.devices(request.params.rolloutId, statesOf<RolloutDeviceState>(request.query.state, ROLLOUT_DEVICE_STATES, 'device'), offset, limit);
      return springPage(page, offset, limit);
    },
  );

  app.get<{ Params: { rolloutId: string } }>(
    `${OTAO}/rollouts/:rolloutId/timeline`,
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Devices that finished per minute (applied; failed or timed out), oldest first, for the progress chart',
        params: rolloutParams,
        response: { 200: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, applied: { type: 'integer' }, failed: { type: 'integer' } } } }, ...errorResponses },
      },
    },
    async (request) => rollouts.timeline(request.params.rolloutId),
  );

  const action = (name: 'pause' | 'resume' | 'cancel', summary: string) =>
    app.post<{ Params: { rolloutId: string } }>(
      `${OTAO}/rollouts/:rolloutId/${name}`,
      { config: { access: 'operator' }, schema: { tags, summary, params: rolloutParams, response: { 200: rolloutView, ...errorResponses } } },
      async (request) => rollouts[name](request.params.rolloutId),
    );
  action('pause', 'Pause: no more devices are offered until resumed (those offered still report)');
  action('resume', 'Resume a paused rollout');
  action('cancel', 'Cancel: devices not yet offered never are, and open offers are withdrawn');
}

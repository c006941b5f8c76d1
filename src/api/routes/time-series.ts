/**
 * Kaa EPTS REST (`/epts/api/v1/...`, Kaa's paths and shapes) and Tether's time series definitions
 * (`/api/v1/applications/{app}/time-series`). The contract is docs/time-series.md.
 */
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../core/errors.js';
import type { Aggregate, PointValues, SeriesPoints, StoredPoint } from '../../storage/time-series.js';
import { FALLBACK_STRATEGIES, MAX_RETENTION_DAYS, SERIES_NAME_PATTERN, TIMESTAMP_FORMATS } from '../../time-series/definitions.js';
import { parseDuration } from '../../time-series/duration.js';
import type { SeriesReadResult, TimeSeriesService } from '../../time-series/service.js';
import { applicationParams, errorResponses } from '../schemas.js';
import { exactTypesCompiler } from '../validation.js';

export const EPTS = '/epts/api/v1';
const MAX_ENDPOINTS = 1000;
const MAX_PAIRS = 1000;
const DEFAULT_LIMIT = 10_000;
const MAX_LIMIT = 1_000_000;
const MAX_BUCKETS = 10_000;
const MAX_WRITE_POINTS = 100_000;
const AGGREGATES: readonly Aggregate[] = ['avg', 'min', 'max', 'last'];

const pointSchema = {
  type: 'object',
  properties: { timestamp: { type: 'string', format: 'date-time' }, values: { type: 'object', additionalProperties: true } },
} as const;
/** `[ { "<endpointId>": { "<series>": [ point ] } } ]` */
const seriesResponse = {
  description: 'One element per endpoint: `{ "<endpointId>": { "<series>": [ { "timestamp", "values" } ] } }`.',
  type: 'array',
  items: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'array', items: pointSchema } } },
} as const;
const definitionsSchema = {
  type: 'object',
  properties: {
    applicationName: { type: 'string' },
    retentionDays: { type: 'integer' },
    timeSeries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          valueField: { type: 'string' },
          tagFields: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, path: { type: 'string' }, required: { type: 'boolean' } } } },
        },
      },
    },
    versions: { type: 'object', additionalProperties: true },
  },
} as const;
const WRITE_SHAPE = '[ { "<endpointId>": { "<series>": [ { "timestamp": "<ISO-8601 or millis>", "values": { "value": 1 } } ] } } ]';
const writtenPoint = {
  type: 'object',
  required: ['timestamp', 'values'],
  description: 'A data point: { "timestamp": "<ISO-8601 or millis>", "values": { "value": 1 } }.',
  properties: {
    timestamp: { type: ['string', 'number'], description: 'ISO-8601 date-time or milliseconds since the epoch.' },
    values: {
      type: 'object',
      minProperties: 1,
      description: 'Values by name, e.g. { "value": 1 }: numbers, booleans or strings.',
      additionalProperties: { type: ['number', 'boolean', 'string'], description: 'A number, boolean or string.' },
    },
  },
} as const;
/** `{ "<series>": [ point ] }` */
const writtenSeries = {
  type: 'object',
  description: 'Data points by series name.',
  additionalProperties: { type: 'array', description: 'The points of one series.', items: writtenPoint },
} as const;
/**
 * The read shape, or one element of it. `items` constrains only an array and `additionalProperties`
 * only an object, so one schema takes both: `[ { "<endpointId>": series } ]` or `{ "<endpointId>": series }`.
 */
const writeBody = {
  type: ['array', 'object'],
  description: `${WRITE_SHAPE}, or one such object.`,
  items: { type: 'object', description: 'Series by endpoint ID.', additionalProperties: writtenSeries },
  additionalProperties: writtenSeries,
} as const;
type WriteBody = Record<string, Record<string, Array<{ timestamp: string | number; values: PointValues }>>>;

/**
 * The definitions document as PUT takes it. Every optional field may also be null (meaning "the
 * default"), as the config file and stored documents allow; what a schema cannot say (names used
 * twice, the `auto~` prefix, versions of the application, format case) normaliseDefinitions checks.
 */
const seriesNameInput = { type: 'string', pattern: SERIES_NAME_PATTERN.source, description: '1-128 characters from A-Z a-z 0-9 _ . ~ -.' } as const;
const jsonPathInput = { type: ['string', 'null'], minLength: 1, description: 'A JSON path, e.g. "$.temperature" or "temperature".' } as const;
const definitionsInput = {
  type: 'object',
  description: 'Time series definitions: { retentionDays, timeSeries: [ { name, valueField, tagFields } ], versions: { <version>: { timestamp, extractAll } } }.',
  properties: {
    retentionDays: { type: ['integer', 'null'], minimum: 1, maximum: MAX_RETENTION_DAYS, description: `Whole days from 1 to ${MAX_RETENTION_DAYS}.` },
    timeSeries: {
      type: ['array', 'null'],
      description: 'A list of { name, valueField, tagFields }.',
      items: {
        type: 'object',
        required: ['name', 'valueField'],
        description: 'A series: { name, valueField, tagFields }.',
        properties: {
          name: seriesNameInput,
          valueField: { type: 'string', minLength: 1, description: 'The JSON path of the value, e.g. "temperature".' },
          tagFields: {
            type: ['array', 'null'],
            description: 'A list of { name, path, required }.',
            items: {
              type: 'object',
              required: ['name'],
              description: 'A tag: { name, path, required }.',
              properties: { name: seriesNameInput, path: jsonPathInput, required: { type: ['boolean', 'null'], description: 'true or false.' } },
            },
          },
        },
      },
    },
    versions: {
      type: ['object', 'null'],
      description: 'Extraction rules by application version name.',
      additionalProperties: {
        type: 'object',
        description: 'Extraction rules: { timestamp, extractAll }.',
        properties: {
          extractAll: { type: ['boolean', 'null'], description: 'true or false.' },
          timestamp: {
            type: ['object', 'null'],
            description: 'Where a sample keeps its time: { path, format, fallbackStrategy }.',
            properties: {
              path: jsonPathInput,
              format: { type: ['string', 'null'], description: `One of ${TIMESTAMP_FORMATS.join(', ')}.` },
              fallbackStrategy: { type: ['string', 'null'], enum: [...FALLBACK_STRATEGIES, null], description: `One of ${FALLBACK_STRATEGIES.join(', ')}.` },
            },
          },
        },
      },
    },
  },
} as const;

const list = { type: 'string', description: 'Comma-separated list.' } as const;
const date = { type: 'string', description: 'ISO-8601 date-time or milliseconds since the epoch.' } as const;

interface LastQuery {
  endpointId?: string;
  timeSeriesName: string;
  beforeDate?: string;
}

interface DataQuery {
  endpointId: string;
  timeSeriesName: string;
  fromDate: string;
  toDate: string;
  includeTime?: 'from' | 'to' | 'both' | 'none';
  sort?: 'ASC' | 'DESC';
  limit?: number;
  aggregate?: Aggregate;
  interval?: string;
  buckets?: number;
  format?: 'json' | 'csv';
}

type Params = { applicationName: string };
type Result = Array<Record<string, Record<string, Array<{ timestamp: string; values: PointValues }>>>>;

export function timeSeriesRoutes(app: FastifyInstance, timeSeries: TimeSeriesService): void {
  const tags = ['time series'];

  app.get<{ Querystring: { applicationNames?: string } }>(
    `${EPTS}/time-series/config`,
    {
      schema: {
        tags,
        summary: 'Time series of applications (Kaa EPTS)',
        querystring: { type: 'object', properties: { applicationNames: list } },
        response: {
          200: { type: 'object', additionalProperties: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } } } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const names = request.query.applicationNames !== undefined ? splitList(request.query.applicationNames) : (await timeSeries.applicationNames());
      const result: Record<string, Array<{ name: string; values: string[] }>> = {};
      for (const name of names) {
        await timeSeries.requireApplication(name);
        result[name] = await timeSeries.configOf(name);
      }
      return result;
    },
  );

  app.get<{ Params: Params; Querystring: LastQuery }>(
    `${EPTS}/applications/:applicationName/time-series/last`,
    {
      schema: {
        tags,
        summary: 'Latest data point per endpoint and series (Kaa EPTS)',
        params: applicationParams,
        querystring: {
          type: 'object',
          required: ['timeSeriesName'],
          properties: { endpointId: list, timeSeriesName: list, beforeDate: date },
        },
        response: { 200: seriesResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { applicationName } = request.params;
      await timeSeries.requireApplication(applicationName);
      const series = nonEmptyList(request.query.timeSeriesName, 'timeSeriesName');
      const endpointIds = request.query.endpointId !== undefined ? nonEmptyList(request.query.endpointId, 'endpointId') : undefined;
      if (endpointIds && endpointIds.length > MAX_ENDPOINTS) throw errors.validation(`endpointId lists at most ${MAX_ENDPOINTS} endpoints`);
      const before = request.query.beforeDate !== undefined ? parseTime(request.query.beforeDate, 'beforeDate') : undefined;
      const found = await timeSeries.last(applicationName, endpointIds, series, before, MAX_ENDPOINTS);
      const result: Result = [];
      for (const endpointId of endpointIds ?? [...found.keys()]) {
        const bySeries: Record<string, Array<{ timestamp: string; values: PointValues }>> = {};
        for (const name of series) {
          const point = found.get(endpointId)?.get(name);
          bySeries[name] = point ? [present(point)] : [];
        }
        result.push({ [endpointId]: bySeries });
      }
      return sendJson(reply, result);
    },
  );

  app.get<{ Params: Params; Querystring: DataQuery }>(
    `${EPTS}/applications/:applicationName/time-series/data`,
    {
      schema: {
        tags,
        summary: 'Data points in a time range, raw or downsampled (Kaa EPTS; aggregate, interval, buckets and format are Tether additions)',
        params: applicationParams,
        querystring: {
          type: 'object',
          required: ['endpointId', 'timeSeriesName', 'fromDate', 'toDate'],
          properties: {
            endpointId: list,
            timeSeriesName: list,
            fromDate: date,
            toDate: date,
            includeTime: { type: 'string', enum: ['from', 'to', 'both', 'none'], default: 'both' },
            sort: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
            aggregate: { type: 'string', enum: [...AGGREGATES] },
            interval: { type: 'string', description: 'Bucket width: 500ms, 10s, 5m, 1h, 1d, PT1M or milliseconds.' },
            buckets: { type: 'integer', minimum: 1, maximum: MAX_BUCKETS },
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
        },
        response: { 200: seriesResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { applicationName } = request.params;
      await timeSeries.requireApplication(applicationName);
      const q = request.query;
      const endpointIds = nonEmptyList(q.endpointId, 'endpointId');
      const series = nonEmptyList(q.timeSeriesName, 'timeSeriesName');
      if (endpointIds.length * series.length > MAX_PAIRS) throw errors.validation(`ask for at most ${MAX_PAIRS} endpoint and series pairs at once`);
      const include = q.includeTime ?? 'both';
      let from = parseTime(q.fromDate, 'fromDate');
      let to = parseTime(q.toDate, 'toDate');
      if (include === 'to' || include === 'none') from += 1;
      if (include === 'from' || include === 'none') to -= 1;
      if (to < from) throw errors.validation('toDate must not be before fromDate');
      const order = q.sort === 'DESC' ? 'desc' : 'asc';
      let intervalMs: number | undefined;
      if (q.aggregate !== undefined) {
        if (q.interval !== undefined) {
          intervalMs = parseDuration(q.interval);
          if (intervalMs === undefined) throw errors.validation(`interval ${JSON.stringify(q.interval)} is not a duration; use e.g. 10s, 5m, 1h, PT1M or milliseconds`);
        } else if (q.buckets !== undefined) {
          intervalMs = Math.max(1, Math.ceil((to - from + 1) / q.buckets));
        } else {
          throw errors.validation('aggregate needs interval (e.g. 1m) or buckets (e.g. 1000)');
        }
        if ((to - from) / intervalMs > MAX_BUCKETS * 10) throw errors.validation(`the range holds more than ${MAX_BUCKETS * 10} buckets of that interval; use a wider interval`);
      } else if (q.interval !== undefined || q.buckets !== undefined) {
        throw errors.validation('interval and buckets need aggregate (avg, min, max or last)');
      }
      const { rows, truncated } = await timeSeries.read({
        applicationName,
        endpointIds,
        series,
        from,
        to,
        order,
        limit: q.limit ?? DEFAULT_LIMIT,
        ...(q.aggregate !== undefined && { aggregate: { fn: q.aggregate, intervalMs: intervalMs! } }),
      });
      if (truncated) void reply.header('x-tether-truncated', 'true');
      if (q.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${applicationName}-time-series.csv"`).send(toCsv(rows));
      }
      return sendJson(
        reply,
        rows.map(({ endpointId, series: bySeries }) => ({
          [endpointId]: Object.fromEntries(Object.entries(bySeries).map(([name, points]) => [name, points.map(present)])),
        })),
      );
    },
  );

  app.post<{ Params: Params; Body: WriteBody | WriteBody[] }>(
    `${EPTS}/applications/:applicationName/time-series/data`,
    {
      schema: {
        tags,
        summary: 'Write data points (back-fill, non-device writers)',
        description: 'Body: the read shape, `[ { "<endpointId>": { "<series>": [ { "timestamp", "values" } ] } } ]` (or one such object).',
        params: applicationParams,
        body: writeBody,
        response: { 200: { type: 'object', properties: { stored: { type: 'integer' } } }, ...errorResponses },
      },
      // Values keep their JSON types: "5" stays a string, null is refused rather than stored as 0.
      validatorCompiler: exactTypesCompiler,
    },
    async (request) => {
      const batch = parseWriteBody(request.body);
      const stored = await timeSeries.write(request.params.applicationName, batch);
      return { stored };
    },
  );

  app.get<{ Params: Params }>(
    `/api/v1/applications/:applicationName/time-series`,
    { schema: { tags, summary: 'Time series definitions of an application', params: applicationParams, response: { 200: definitionsSchema, ...errorResponses } } },
    async (request) => {
      await timeSeries.requireApplication(request.params.applicationName);
      return timeSeries.getDefinitions(request.params.applicationName);
    },
  );

  app.put<{ Params: Params; Body: Record<string, unknown> }>(
    `/api/v1/applications/:applicationName/time-series`,
    {
      schema: {
        tags,
        summary: 'Replace the time series definitions of an application',
        params: applicationParams,
        body: definitionsInput,
        response: { 200: definitionsSchema, ...errorResponses },
      },
      // "30" is not a number of days and null means "the default", not 0 or false.
      validatorCompiler: exactTypesCompiler,
    },
    async (request) => timeSeries.putDefinitions(request.params.applicationName, request.body),
  );
}

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  // Serialized here: points carry free-form values, and big ranges are faster through JSON.stringify.
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function present(point: StoredPoint): { timestamp: string; values: PointValues } {
  return { timestamp: new Date(point.t).toISOString(), values: point.values };
}

export function splitList(raw: string): string[] {
  return [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
}

function nonEmptyList(raw: string, name: string): string[] {
  const items = splitList(raw);
  if (items.length === 0) throw errors.validation(`${name} must list at least one name (comma-separated)`);
  return items;
}

const HAS_ZONE = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/;
const MAX_DATE_MS = 8.64e15;

export function parseTime(raw: string | number, name: string): number {
  const text = String(raw).trim();
  const t = /^-?\d+$/.test(text) ? Number(text) : Date.parse(HAS_ZONE.test(text) || !text.includes('T') ? text : `${text}Z`);
  if (!Number.isFinite(t)) throw errors.validation(`${name} ${JSON.stringify(String(raw))} is not a time; use ISO-8601 (2026-12-01T02:00:00Z) or milliseconds since the epoch`);
  return t;
}

/** One row per point, a column per value name (`value` first); RFC 4180 line ends, booleans as true/false. */
function toCsv(rows: SeriesReadResult['rows']): string {
  const names = new Set<string>(['value']);
  for (const row of rows) for (const points of Object.values(row.series)) for (const p of points) for (const k in p.values) names.add(k);
  const columns = [...names];
  const records: string[][] = [['endpointId', 'timeSeriesName', 'timestamp', ...columns]];
  for (const row of rows) {
    for (const [name, points] of Object.entries(row.series)) {
      for (const p of points) {
        records.push([row.endpointId, name, new Date(p.t).toISOString(), ...columns.map((c) => (p.values[c] === undefined ? '' : String(p.values[c])))]);
      }
    }
  }
  return stringify(records, { record_delimiter: 'windows' });
}

/** The schema has checked the shape; left are the point limit and the times. */
function parseWriteBody(body: WriteBody | WriteBody[]): SeriesPoints[] {
  const items = Array.isArray(body) ? body : [body];
  const batch: SeriesPoints[] = [];
  let count = 0;
  for (const item of items) {
    for (const [endpointId, bySeries] of Object.entries(item)) {
      for (const [series, points] of Object.entries(bySeries)) {
        const group: SeriesPoints = { endpointId, series, points: [] };
        for (const point of points) {
          const t = parseTime(point.timestamp, 'timestamp');
          // Beyond JavaScript's date range a point could not be read back as ISO-8601.
          if (Math.abs(t) > MAX_DATE_MS) throw errors.validation(`timestamp ${JSON.stringify(point.timestamp)} of ${JSON.stringify(series)} is outside the years -271821 to 275760`);
          group.points.push({ t, values: point.values });
          if (++count > MAX_WRITE_POINTS) throw errors.validation(`send at most ${MAX_WRITE_POINTS} points per request`);
        }
        batch.push(group);
      }
    }
  }
  return batch;
}

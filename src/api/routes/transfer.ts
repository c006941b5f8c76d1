/** Export, import and bulk actions over the endpoint list (docs/accounts.md). */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Accounts } from '../../accounts/index.js';
import type { Snapshotter } from '../../access/audit-hook.js';
import { createSnapshotter } from '../../access/audit-hook.js';
import { errors } from '../../core/errors.js';
import type { Services } from '../../core/services.js';
import type { JsonValue } from '../../core/types.js';
import type { Storage } from '../../storage/storage.js';
import { BULK_ACTIONS, type BulkRequest, MAX_BULK, runBulk } from '../../transfer/bulk.js';
import { exportCsv, exportJson } from '../../transfer/export.js';
import { importEndpoints, parseImportCsv } from '../../transfer/import.js';
import { type EndpointListQuery, endpointListQuerySchema, toEndpointQuery } from '../endpoint-query.js';
import { errorResponses, metadataKeyInput } from '../schemas.js';

const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

export function transferRoutes(app: FastifyInstance, services: Services, storage: Storage, accounts: Accounts): void {
  const tags = ['endpoints'];
  const snapshot: Snapshotter = createSnapshotter(services, accounts);

  const entry = (request: FastifyRequest, action: string, endpointId: string | null, before: JsonValue | null, after: JsonValue | null) => {
    const p = request.principal!;
    return {
      actor: { kind: p.kind, name: p.name, role: p.role },
      clientAddress: request.ip,
      action,
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      endpointId,
      target: endpointId,
      before,
      after,
    };
  };
  const audit = (request: FastifyRequest, action: string, endpointId: string | null, before: JsonValue | null, after: JsonValue | null) =>
    accounts.audit.record(entry(request, action, endpointId, before, after));

  const { limit: _limit, offset: _offset, include: _include, ...filterProperties } = endpointListQuerySchema.properties;
  app.get<{ Querystring: EndpointListQuery & { format?: 'csv' | 'json'; applicationName: string } }>(
    '/api/v1/endpoints/export',
    {
      schema: {
        tags,
        summary: 'Export the (filtered) endpoint list with metadata as CSV or JSON',
        description:
          'Same filters as GET /epr/api/v1/endpoints; streamed page by page. CSV columns: endpointId, appVersion, createdDate, connected, lastSeen, then metadata.<key> for every metadata key of the application. A string cell is the text; other values are JSON; a string that reads as JSON is JSON-quoted.',
        querystring: {
          ...endpointListQuerySchema,
          required: ['applicationName'],
          properties: { ...filterProperties, format: { type: 'string', enum: ['csv', 'json'], default: 'csv' } },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { format = 'csv', ...rest } = request.query;
      const query = { ...toEndpointQuery({ ...rest, include: ['metadata'] }), applicationName: request.query.applicationName };
      // Fail before the first byte: an unknown application is a 404, not an empty file.
      await services.applications.getApplication(query.applicationName);
      if (request.query.sort === undefined) query.sort = { field: 'endpointId', direction: 'asc' };
      const source = format === 'json' ? exportJson(services, query) : exportCsv(services, storage, query);
      return reply
        .type(format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${query.applicationName}-endpoints.${format}"`)
        .send(Readable.from(source));
    },
  );

  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post<{ Body: string; Querystring: { appVersion?: string; format?: 'json' | 'csv' } }>(
    '/api/v1/endpoints/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      config: { audit: false },
      schema: {
        tags,
        summary: 'Import endpoints from CSV',
        description:
          'Body: CSV (Content-Type text/csv) with a header row. Columns: appVersion (or the appVersion query parameter), endpointId (generated when empty), token (generated when empty), metadata.<key> (cells as in export). Other columns are ignored, so an export imports as is. The created tokens are in the answer only: format=csv answers line,endpointId,token,error for download.',
        querystring: {
          type: 'object',
          properties: { appVersion: { type: 'string', maxLength: 128 }, format: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      if (typeof request.body !== 'string') throw errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''), 'text/csv');
      const rows = parseImportCsv(request.body, request.query.appVersion);
      const result = await importEndpoints(services, rows);
      // One entry for the import as a whole, and one per endpoint it created, so the endpoint's own
      // audit trail (filtered by endpoint) starts with where it came from.
      const byLine = new Map(rows.map((row) => [row.line, row]));
      await accounts.audit.recordMany([
        entry(request, 'endpoints.import', null, null, { created: result.created, failed: result.failed.length }),
        ...result.tokens.map(({ line, endpointId }) => {
          const row = byLine.get(line);
          return entry(request, 'endpoint.import', endpointId, null, { appVersion: row?.appVersion ?? null, metadata: row?.metadata ?? {} });
        }),
      ]);
      if (request.query.format === 'csv') {
        const lines = [
          ...result.tokens.map((t) => ({ line: t.line, row: [t.line, t.endpointId, t.token, ''] })),
          ...result.failed.map((f) => ({ line: f.line, row: [f.line, f.endpointId ?? '', '', `${f.code}: ${f.message}`] })),
        ].sort((a, b) => a.line - b.line);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="tether-tokens.csv"')
          .header('cache-control', 'no-store')
          .send(stringify([['line', 'endpointId', 'token', 'error'], ...lines.map((l) => l.row.map(String))]));
      }
      return reply.header('cache-control', 'no-store').send({ created: result.created, failed: result.failed, tokens: result.tokens.map(({ endpointId, token }) => ({ endpointId, token })) });
    },
  );

  app.post<{ Body: BulkRequest }>(
    '/api/v1/endpoints/bulk',
    {
      config: { audit: false },
      schema: {
        tags,
        summary: 'One action on many endpoints',
        description: 'delete, suspend-tokens, revoke-tokens, set-metadata (key, value), delete-metadata-key (key). Each endpoint is changed (and audited) on its own; failures are listed, the rest go on.',
        body: {
          type: 'object',
          required: ['action', 'endpointIds'],
          additionalProperties: false,
          properties: {
            action: { type: 'string', enum: [...BULK_ACTIONS] },
            endpointIds: { type: 'array', minItems: 1, maxItems: MAX_BULK, items: { type: 'string', minLength: 1, maxLength: 128 } },
            key: metadataKeyInput,
            value: {},
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const befores = new Map<string, JsonValue | null>();
      return runBulk(
        services,
        request.body,
        async (endpointId) => audit(request, `bulk.${request.body.action}`, endpointId, befores.get(endpointId) ?? null, await snapshot({ endpointId })),
        async (endpointId) => void befores.set(endpointId, await snapshot({ endpointId })),
      );
    },
  );
}

/**
 * Packages of software versions (Kaa OTAO, issue 14; docs/software.md): operators upload, fetch and
 * delete a version's file under /otao/api/v1/applications/…/package; devices download it from
 * /otao/api/v1/packages/{appName}/{version} with their endpoint token or the signed URL they
 * got on cmx_ota. Both downloads honour `Range` (a device on a bad link resumes where it stopped).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from '../../accounts/index.js';
import { errors, isTetherError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import { DEVICE_DOWNLOAD_PATH, type PackageService, presentPackage } from '../../software/packages/index.js';
import type { StoredPackage } from '../../storage/packages.js';
import { parseRange } from '../range.js';
import { applicationNameInput, errorResponses } from '../schemas.js';

export const OTAO = '/otao/api/v1';
const PACKAGE_PATH = `${OTAO}/applications/:appName/software/:version/package`;

const tags = ['software'];
const versionInput = { type: 'string', minLength: 1, maxLength: 128, description: 'Software version (semver), e.g. "1.2.0".' } as const;
const params = { type: 'object', required: ['appName', 'version'], properties: { appName: applicationNameInput, version: versionInput } } as const;
const packageView = {
  type: 'object',
  properties: { fileName: { type: 'string' }, contentType: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' }, uploadedAt: { type: 'string', format: 'date-time' } },
} as const;
const rangeHeaders = {
  type: 'object',
  properties: {
    range: { type: 'string', description: 'One byte range: "bytes=<first>-<last>", "bytes=<first>-" (resume) or "bytes=-<n>" (the last n bytes).' },
    'if-range': { type: 'string', description: 'The ETag the device has part of: the range is sent only while the package is still that file.' },
  },
} as const;
const binary = { description: 'The package bytes (206 for a range).', type: 'string', format: 'binary' } as const;

type Scope = { Params: { appName: string; version: string } };
const keyOf = (p: Scope['Params']) => ({ applicationName: p.appName, version: p.version });
type DeviceScope = Scope & { Querystring: { token?: string; expires?: string; sig?: string } };

const bearer = (header: string | undefined): string | undefined => /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];

function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_');
  return ascii === fileName ? `attachment; filename="${fileName}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/**
 * The body of a HEAD (or of an empty file): an empty stream, so fastify keeps the Content-Length
 * set for the file (with no payload it would say 0) and reads nothing from storage.
 */
const nothing = () => Readable.from([]);

/** Answers with the whole package or the one range asked for (206), with what a resuming client needs. */
function sendPackage(request: FastifyRequest, reply: FastifyReply, packages: PackageService, pkg: StoredPackage) {
  const etag = `"${pkg.sha256}"`;
  void reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'private, no-cache').header('content-disposition', contentDisposition(pkg.fileName));
  const inm = request.headers['if-none-match'];
  if (inm !== undefined && inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) return reply.code(304).send();
  // If-Range: a part of another file must not be appended to what the device has: send it all.
  const ifRange = [request.headers['if-range']].flat()[0];
  const range = ifRange !== undefined && ifRange.trim() !== etag ? ({ kind: 'whole' } as const) : parseRange(request.headers.range, pkg.size);
  if (range.kind === 'unsatisfiable') {
    void reply.header('content-range', `bytes */${pkg.size}`);
    throw errors.packageRangeUnsatisfiable(String(request.headers.range), pkg.size);
  }
  void reply.type(pkg.contentType);
  if (range.kind === 'partial') {
    void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${pkg.size}`).header('content-length', range.end - range.start + 1);
    return reply.send(request.method === 'HEAD' ? nothing() : packages.open(pkg, range.start, range.end));
  }
  void reply.header('content-length', pkg.size);
  return reply.send(request.method === 'HEAD' || pkg.size === 0 ? nothing() : packages.open(pkg, 0, pkg.size - 1));
}

export function packageRoutes(app: FastifyInstance, packages: PackageService, accounts?: Accounts): void {
  const audit = async (request: FastifyRequest, action: string, before: JsonValue | null, after: JsonValue | null) => {
    const p = request.principal;
    if (!accounts || !p) return;
    const { appName, version } = request.params as Scope['Params'];
    await accounts.audit.record({
      actor: { kind: p.kind, name: p.name, role: p.role },
      clientAddress: request.ip,
      action,
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      endpointId: null,
      target: `${appName}/${version}`,
      before,
      after,
    });
  };
  const info = (pkg: StoredPackage | undefined): JsonValue | null => (pkg ? (presentPackage(pkg) as unknown as JsonValue) : null);

  // The upload reads the request itself, as a stream: its own scope where every body is passed
  // through unparsed (whatever its type) and fastify's bodyLimit does not apply; the package limit does.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.put<Scope>(
      PACKAGE_PATH,
      {
        config: { access: 'operator', audit: false },
        schema: {
          tags,
          summary: "Upload a software version's package",
          description:
            'The body is the file itself, any content type (kept, and sent back on download), streamed to storage: up to TETHER_PACKAGE_MAX_MB (default 512 MB; larger answers 413). `x-file-name` names the file devices get. The SHA-256 and size are computed on the way. A new upload replaces the old package once it is stored whole.',
          params,
          headers: { type: 'object', properties: { 'x-file-name': { type: 'string', description: 'The file name devices get (default <application>-<version>.bin).' } } },
          response: { 201: packageView, ...errorResponses },
        },
      },
      async (request, reply) => {
        const key = keyOf(request.params);
        const length = request.headers['content-length'];
        const header = request.headers['x-file-name'];
        const before = await packages.find(key);
        let stored: StoredPackage;
        try {
          // The parser's stream (request.raw unless a preParsing hook wrapped it).
          const body = (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
          stored = await packages.upload(key, body, {
            fileName: typeof header === 'string' ? decodeFileName(header) : undefined,
            contentType: request.headers['content-type'],
            contentLength: length === undefined ? undefined : Number(length),
          });
        } catch (err) {
          // The rest of a refused body is not read: the connection closes after the answer.
          if (!request.raw.readableEnded) void reply.header('connection', 'close');
          throw err;
        }
        await audit(request, 'package.upload', info(before), info(stored));
        return reply.code(201).send(presentPackage(stored));
      },
    );
  });

  app.get<Scope>(
    PACKAGE_PATH,
    {
      config: { access: 'viewer' },
      schema: { tags, summary: "Download a software version's package", description: 'With Range for a part (206).', params, headers: rangeHeaders, response: { 200: binary, 206: binary, ...errorResponses } },
    },
    async (request, reply) => sendPackage(request, reply, packages, await packages.get(keyOf(request.params))),
  );

  app.delete<Scope>(
    PACKAGE_PATH,
    {
      config: { access: 'operator', audit: false },
      schema: { tags, summary: "Delete a software version's package", description: 'Devices offered the version get no package URL from then on.', params, response: { 204: { type: 'null' }, ...errorResponses } },
    },
    async (request, reply) => {
      const key = keyOf(request.params);
      const before = await packages.get(key);
      await packages.remove(key);
      await audit(request, 'package.delete', info(before), null);
      return reply.code(204).send();
    },
  );

  app.get<DeviceScope>(
    `${DEVICE_DOWNLOAD_PATH}/:appName/:version`,
    {
      // Public in src/access/rules.ts: devices have no account; the token or signature is checked here.
      schema: {
        tags,
        summary: 'Device download of a package',
        description:
          'With the endpoint token (`?token=` or `Authorization: Bearer <endpoint token>`) of an endpoint of the application, or with the signed URL (`?expires=&sig=`) the device got on cmx_ota. ETag is the SHA-256 in quotes; Range resumes a cut download.',
        params,
        querystring: {
          type: 'object',
          properties: {
            token: { type: 'string', description: 'Endpoint token.' },
            expires: { type: 'string', description: 'Signed URL: its expiry (Unix seconds).' },
            sig: { type: 'string', description: 'Signed URL: its signature.' },
          },
        },
        headers: rangeHeaders,
        response: { 200: binary, 206: binary, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = keyOf(request.params);
      const { token, expires, sig } = request.query;
      // Whether a version has a package is no secret (its devices are told): a 404 comes first.
      const pkg = await packages.get(key);
      try {
        await packages.authorizeDownload(key, { token: token ?? bearer(request.headers.authorization), expires, sig });
      } catch (err) {
        // TOKEN_INVALID (a malformed token) is a refusal too, not a bad request.
        if (isTetherError(err) && err.code === 'TOKEN_INVALID') throw errors.tokenUnknown();
        throw err;
      }
      return sendPackage(request, reply, packages, pkg);
    },
  );
}

/** `x-file-name` may be percent-encoded (headers carry no UTF-8 reliably). */
function decodeFileName(header: string): string {
  try {
    return decodeURIComponent(header);
  } catch {
    return header;
  }
}

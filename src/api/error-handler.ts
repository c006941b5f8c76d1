/**
 * The one HTTP error path, for the REST API and the dashboard's routes alike (they are plugins of
 * the same fastify instance and inherit this handler): anything thrown while serving a request
 * becomes `{status, code, message}`. User-caused errors are logged once at warn with their code;
 * the rest at error, with the cause kept in the log and never sent to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, isTetherError, toTetherError, type TetherError } from '../core/errors.js';
import type { StorageFull } from '../core/storage-full.js';
import type { Logger } from '../core/log.js';
import { systemClock } from '../core/clock.js';
import { KeyedLogThrottle } from '../core/log-throttle.js';

/** Fastify's own request errors (parsing, limits) mapped onto the catalog. */
function fromFastifyError(err: FastifyError, request: FastifyRequest, bodyLimit: number): TetherError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''), 'application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.payloadNotJson('a JSON body, or leave out the Content-Type header');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Bodies parsed by explainingJsonParser arrive here only as "__proto__" refusals.
      return errors.payloadNotJson('a valid JSON body without "__proto__" members');
  }
  // JSON.parse failures from other parsers surface as a SyntaxError marked 400.
  if (err instanceof SyntaxError && err.statusCode === 400) return errors.payloadNotJson('a valid JSON body');
  // Any other body or media type refusal keeps its own status and code rather than passing as a 400.
  if (err.statusCode === 413) return errors.payloadTooLarge(bodyLimit);
  if (err.statusCode === 415) return errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''), 'application/json');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's 4xx messages describe the request, not the server; safe to pass on.
    return errors.validation(err.message.replace(/\.$/, ''));
  }
  return undefined;
}

/**
 * The router's limit on one path parameter. Its default, 100, is shorter than an endpoint ID may be
 * (128): such an endpoint could be created and then not be found. Tokens are at most 256; metadata
 * keys have no limit of their own.
 */
export const MAX_PATH_PARAM_LENGTH = 1024;

/**
 * Errors the router raises before any route or hook runs (Fastify's `frameworkErrors`): without
 * this they are answered in Fastify's own shape, not `{status, code, message}`.
 */
export function routerErrors(log: RequestErrorLog) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const error = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? errors.pathSegmentTooLong(MAX_PATH_PARAM_LENGTH) : err.code === 'FST_ERR_BAD_URL' ? errors.pathNotDecodable() : toResponseError(err, request, 0);
    log(error, { reqId: request.id, status: error.status });
    sendError(reply, error);
  };
}

export type RequestErrorLog = (error: TetherError, where: Record<string, unknown>, cause?: unknown) => void;

/**
 * Logs a refused or failed request: user-caused errors at warn, the rest at error with their cause.
 * Anyone can send requests (no key, a wrong one, a made-up path), so the lines are throttled per
 * error code: at most 5 per code per 10 s, the next one saying how many were held back (`heldBack`).
 * A flood of bad requests then costs a few lines, not one per request.
 */
export function requestErrorLog(logger: Logger, throttle = new KeyedLogThrottle(systemClock)): RequestErrorLog {
  return (error, where, cause) => {
    const heldBack = throttle.pass(error.code);
    if (heldBack === undefined) return;
    const fields = { ...where, code: error.code, ...(heldBack > 0 && { heldBack }) };
    if (error.status >= 500) logger.error({ ...fields, err: cause }, 'request failed');
    else logger.warn(fields, error.message);
  };
}

export function toResponseError(err: unknown, request: FastifyRequest, bodyLimit: number): TetherError {
  if (isTetherError(err)) return err;
  const mapped = typeof err === 'object' && err !== null ? fromFastifyError(err as FastifyError, request, bodyLimit) : undefined;
  // toTetherError: a full disk answers 507 STORAGE_FULL, anything else 500 INTERNAL.
  return mapped ?? toTetherError(err);
}

export function sendError(reply: FastifyReply, error: TetherError): void {
  if (error.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  void reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({ status: error.status, code: error.code, message: error.message });
}

export function installErrorHandling(app: FastifyInstance, log: RequestErrorLog, bodyLimit: number, storageFull?: Pick<StorageFull, 'refused'>): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toResponseError(err, request, bodyLimit);
    if (error.code === errors.storageFull.code && storageFull) {
      // Logged once per interval for all writes refused meanwhile, not once per request.
      storageFull.refused();
    } else {
      log(error, { reqId: request.id, method: request.method, url: request.routeOptions.url ?? 'unknown', status: error.status }, error.cause ?? err);
    }
    sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const error = errors.notFound(`Route ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`);
    log(error, { reqId: request.id, status: 404 });
    sendError(reply, error);
  });
}

type BodyParser = (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;

/**
 * Fastify's JSON parser (with its prototype-poisoning protection), but a syntax error is answered
 * with where and what is wrong (a trailing comma, say) instead of Fastify's one message for every
 * refusal, which also speaks of "__proto__" members.
 */
export function explainingJsonParser(parse: BodyParser): BodyParser {
  return (request, body, done) => {
    parse(request, body, (err, value) => {
      if (err === null) return done(null, value);
      const problem = jsonSyntaxProblem(body);
      done(problem === undefined ? err : errors.payloadNotJson(`valid JSON: ${problem}`));
    });
  };
}

/** What JSON.parse finds wrong, with line and column; undefined if the text parses. */
export function jsonSyntaxProblem(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    if (at === null) return message.replace(/\.$/, '');
    const position = Number(at[1]);
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    const trailingComma = /,\s*$/.test(before) && (text[position] === '}' || text[position] === ']');
    const what = trailingComma ? `a trailing comma before "${text[position]}" (JSON allows none)` : `unexpected ${position >= text.length ? 'end of the body' : JSON.stringify(text[position])}`;
    return `${what} at line ${line}, column ${column}`;
  }
}

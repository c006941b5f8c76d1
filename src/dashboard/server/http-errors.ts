import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errors, isTetherError, toTetherError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

/** The dashboard routes answer errors in the same `{status, code, message}` shape as the REST API. */
export function dashboardErrorHandler(logger: Logger) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const error = isTetherError(err)
      ? err
      : err.validation || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
        ? errors.validation(err.message)
        : toTetherError(err);
    if (error.status >= 500) logger.error({ err, url: request.url }, 'dashboard request failed');
    else logger.warn({ code: error.code, url: request.url }, 'dashboard request refused');
    return reply.code(error.status).type('application/json').send({ status: error.status, code: error.code, message: error.message });
  };
}

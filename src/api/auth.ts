/**
 * Who may call the API: the holder of the admin API key (`Authorization: Bearer <key>`) or a
 * signed-in dashboard user (the dashboard's `sessionVerifier`). Everything else is 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../core/errors.js';

export type SessionVerifier = (request: FastifyRequest) => boolean | Promise<boolean>;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Returns an onRequest hook. An empty key disables bearer auth rather than accepting an empty bearer. */
export function createAuthHook(adminApiKey: string, sessionVerifier?: SessionVerifier) {
  // Comparing fixed-length digests keeps timingSafeEqual from leaking the key's length.
  const expected = adminApiKey.length > 0 ? digest(adminApiKey) : undefined;

  const bearerMatches = (header: string | undefined): boolean => {
    if (!expected || !header) return false;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };

  return async function authorize(request: FastifyRequest): Promise<void> {
    if (bearerMatches(request.headers.authorization)) return;
    if (sessionVerifier && (await sessionVerifier(request))) return;
    throw errors.unauthorized();
  };
}

/**
 * The dashboard's session cookie, read and written through @fastify/cookie. The REST API (access
 * control, a password change that renews the caller's session) and the dashboard (sign-in,
 * sign-out) use the same name and attributes.
 */
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const SESSION_COOKIE = 'tether_session';

/**
 * Parses the Cookie header of every request (and lets replies set cookies). Registered on the root
 * instance before the access control hook, which reads the session cookie.
 */
export async function registerCookies(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
}

export function sessionCookieOf(request: FastifyRequest): string | undefined {
  return request.cookies[SESSION_COOKIE];
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Path=/ (the
 * dashboard and the REST API both need it); Secure when the server speaks TLS. `maxAgeSeconds` 0
 * ends it in the browser.
 */
export function setSessionCookie(reply: FastifyReply, token: string, options: { maxAgeSeconds: number; secure: boolean }): void {
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', maxAge: options.maxAgeSeconds, secure: options.secure });
}

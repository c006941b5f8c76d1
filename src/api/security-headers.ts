import type { FastifyInstance } from 'fastify';

/** Sent on every response unless a route chose its own value (e.g. a dashboard page with its own CSP). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function installSecurityHeaders(app: FastifyInstance): void {
  // onSend runs for every reply, including errors and 404s.
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    return payload;
  });
}

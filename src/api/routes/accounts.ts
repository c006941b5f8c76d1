/** Users, API keys, sign-in throttles, the audit log and metadata history (docs/accounts.md). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Accounts, apiKeyView, userView } from '../../accounts/index.js';
import { ROLES, type Role } from '../../core/accounts.js';
import { errors } from '../../core/errors.js';
import { sessionCookieOf, setSessionCookie } from '../../access/session-cookie.js';
import { endpointParams, errorResponses } from '../schemas.js';

const role = { type: 'string', enum: [...ROLES], description: 'viewer (read only), operator (endpoints, tokens, metadata), admin (everything).' } as const;
const password = { type: 'string', minLength: 1, maxLength: 1000, description: 'At least 8 characters.' } as const;
const usernameParams = { type: 'object', required: ['username'], properties: { username: { type: 'string', maxLength: 64 } } } as const;
const keyParams = { type: 'object', required: ['keyId'], properties: { keyId: { type: 'string', maxLength: 64 } } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  before: { type: 'integer', minimum: 1, description: 'Only entries older than this id: the `next` of the previous page.' },
} as const;

export function accountRoutes(app: FastifyInstance, accounts: Accounts, options: { secureCookies: boolean }): void {
  const { users, apiKeys, limiter } = accounts;

  /** A user who changed their own password keeps working: the old sessions end, a new cookie is set. */
  const renewOwnSession = async (request: FastifyRequest, reply: FastifyReply, username: string) => {
    if (request.principal?.kind !== 'user' || request.principal.name !== username || sessionCookieOf(request) === undefined) return;
    const { token, maxAgeSeconds } = await accounts.sessions.create(username);
    setSessionCookie(reply, token, { maxAgeSeconds, secure: options.secureCookies || request.protocol === 'https' });
  };

  // --- users ----------------------------------------------------------------------------------
  const tags = ['accounts'];
  app.get('/api/v1/users', { schema: { tags, summary: 'List users', response: errorResponses } }, async () => (await users.list()).map(userView));

  app.post<{ Body: { username: string; role: Role; password: string } }>(
    '/api/v1/users',
    {
      schema: {
        tags,
        summary: 'Create a user with a role and an initial password',
        body: { type: 'object', required: ['username', 'role', 'password'], additionalProperties: false, properties: { username: { type: 'string', maxLength: 64 }, role, password } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const user = await users.create(request.body);
      void reply.code(201).header('location', `/api/v1/users/${encodeURIComponent(user.username)}`);
      return userView(user);
    },
  );

  app.get<{ Params: { username: string } }>('/api/v1/users/:username', { schema: { tags, summary: 'Get a user', params: usernameParams, response: errorResponses } }, async (request) =>
    userView(await users.get(request.params.username)),
  );

  app.put<{ Params: { username: string }; Body: { role: Role } }>(
    '/api/v1/users/:username/role',
    { schema: { tags, summary: "Change a user's role", params: usernameParams, body: { type: 'object', required: ['role'], properties: { role } }, response: errorResponses } },
    async (request) => userView(await users.setRole(request.params.username, request.body.role)),
  );

  app.put<{ Params: { username: string }; Body: { password: string } }>(
    '/api/v1/users/:username/password',
    {
      schema: {
        tags,
        summary: "Reset a user's password",
        description: "Ends every session of the user (an admin resetting their own password gets a new session cookie).",
        params: usernameParams,
        body: { type: 'object', required: ['password'], properties: { password } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const user = await users.setPassword(request.params.username, request.body.password);
      await renewOwnSession(request, reply, user.username);
      return userView(user);
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/api/v1/users/:username',
    { schema: { tags, summary: 'Delete a user', description: 'Ends the user\'s sessions. The last admin cannot be deleted.', params: usernameParams, response: errorResponses } },
    async (request, reply) => {
      await users.remove(request.params.username);
      return reply.code(204).send();
    },
  );

  app.put<{ Body: { currentPassword: string; password: string } }>(
    '/api/v1/me/password',
    {
      schema: {
        tags,
        summary: 'Change your own password',
        description: 'For signed-in users. Ends your other sessions; this one gets a new cookie.',
        body: { type: 'object', required: ['currentPassword', 'password'], properties: { currentPassword: password, password } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal?.kind !== 'user') throw errors.passwordChangeNeedsUser();
      if (!(await users.verify(principal.name, request.body.currentPassword))) throw errors.passwordWrong();
      await users.setPassword(principal.name, request.body.password);
      await renewOwnSession(request, reply, principal.name);
      return reply.code(204).send();
    },
  );

  // --- sign-in throttles --------------------------------------------------------------------------
  const throttleQuery = { type: 'object', properties: { username: { type: 'string', maxLength: 200 }, clientAddress: { type: 'string', maxLength: 100 } } } as const;
  app.get('/api/v1/sign-in-throttles', { schema: { tags, summary: 'Blocked sign-ins (username and client address pairs, and whole addresses)', response: errorResponses } }, async () => limiter.list());
  app.delete<{ Querystring: { username?: string; clientAddress?: string } }>(
    '/api/v1/sign-in-throttles',
    { schema: { tags, summary: 'Clear sign-in throttles', description: 'All when neither filter is given.', querystring: throttleQuery, response: errorResponses } },
    async (request, reply) => {
      limiter.clear(request.query);
      return reply.code(204).send();
    },
  );

  // --- API keys ---------------------------------------------------------------------------------------
  app.get('/api/v1/api-keys', { schema: { tags, summary: 'List API keys (newest first, revoked ones included)', response: errorResponses } }, async () => (await apiKeys.list()).map(apiKeyView));

  app.post<{ Body: { name: string; role: Role } }>(
    '/api/v1/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key',
        description: 'The answer holds the key (`key`), shown only here. Send it as `Authorization: Bearer <key>`.',
        body: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 64 }, role } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { record, key } = await apiKeys.create({ ...request.body, createdBy: request.principal?.name ?? 'unknown' });
      void reply.code(201);
      return { ...apiKeyView(record), key };
    },
  );

  app.delete<{ Params: { keyId: string } }>(
    '/api/v1/api-keys/:keyId',
    { schema: { tags, summary: 'Revoke an API key', description: 'It stops working at once; it stays listed as REVOKED.', params: keyParams, response: errorResponses } },
    async (request) => apiKeyView((await apiKeys.revoke(request.params.keyId)).after),
  );

  // --- audit log and metadata history -------------------------------------------------------------------
  app.get<{ Querystring: { endpointId?: string; actor?: string; action?: string; from?: string; to?: string; limit: number; before?: number } }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'List audit entries, newest first',
        description: `Filters combine with AND. Entries are kept ${accounts.audit.retentionDays} days (TETHER_AUDIT_RETENTION_DAYS).`,
        querystring: {
          type: 'object',
          properties: {
            endpointId: { type: 'string', maxLength: 128 },
            actor: { type: 'string', maxLength: 64, description: 'Username or API key name.' },
            action: { type: 'string', maxLength: 100, description: 'e.g. metadata.update, token.revoke, user.create.' },
            from: { type: 'string', format: 'date-time', description: 'Inclusive.' },
            to: { type: 'string', format: 'date-time', description: 'Exclusive.' },
            ...pageQuery,
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query;
      const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
      const from = iso(q.from);
      const to = iso(q.to);
      const content = await accounts.audit.query({
        limit: q.limit,
        ...(q.endpointId !== undefined && { endpointId: q.endpointId }),
        ...(q.actor !== undefined && { actor: q.actor }),
        ...(q.action !== undefined && { action: q.action }),
        ...(from !== undefined && { from }),
        ...(to !== undefined && { to }),
        ...(q.before !== undefined && { before: q.before }),
      });
      return { content, next: content.length === q.limit ? content.at(-1)!.id : null };
    },
  );

  app.get<{ Params: { endpointId: string }; Querystring: { limit: number; before?: number } }>(
    '/api/v1/endpoints/:endpointId/metadata-history',
    {
      schema: {
        tags: ['metadata'],
        summary: "An endpoint's metadata versions, newest first",
        description: 'Every change, by devices and operators alike: the last 100 versions, within the audit retention.',
        params: endpointParams,
        querystring: { type: 'object', properties: { ...pageQuery } },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (request) => {
      const content = await accounts.history.query(request.params.endpointId, {
        limit: request.query.limit,
        ...(request.query.before !== undefined && { before: request.query.before }),
      });
      return { content, next: content.length === request.query.limit ? content.at(-1)!.id : null };
    },
  );
}

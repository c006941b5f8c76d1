import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { NAME_PATTERN } from '../../core/names.js';
import { sessionCookieOf, setSessionCookie } from '../../access/session-cookie.js';
import type { Storage } from '../../storage/storage.js';
import type { Accounts } from '../../accounts/index.js';
import type { LiveEvents } from './live-events.js';
import { type FormDefinition, type MeInfo, type ServerInfo, type WidgetConfig } from './model.js';
import { isSameOrigin } from './same-origin.js';
import { formSchema, widgetSchema, type DashboardSettings } from './settings.js';

export interface RouteDeps {
  storage: Storage;
  accounts: Accounts;
  settings: DashboardSettings;
  live: LiveEvents;
  logger: Logger;
  mqttPort: () => number;
  publicHost: () => string;
  secureCookies: boolean;
}

const PREFIX = '/dashboard/api';

/** What the sign-in page says about passwords: true for every server (docs/accounts.md, "Recovery"). */
const SIGN_IN_HINT =
  'First sign-in: user "admin" with the password printed when Tether first started (or TETHER_ADMIN_PASSWORD, if it was set then). Lost a password? An admin can reset it, or on the server run: npx tether admin reset-password --user <name>';
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]', '::0']);

const appParams = {
  type: 'object',
  required: ['applicationName'],
  properties: { applicationName: { type: 'string', pattern: NAME_PATTERN.source, maxLength: 128 } },
} as const;

interface AppParams {
  applicationName: string;
}

export function registerDashboardRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { storage, accounts, settings, live } = deps;
  const { users, sessions, limiter } = accounts;
  // Errors take the server's one path (src/api/error-handler.ts), inherited from the root instance.

  const secure = (request: FastifyRequest) => deps.secureCookies || request.protocol === 'https';

  // Who may call each route (signed in, which role) is checked for every route in one place:
  // src/access/control.ts with the rules in src/access/rules.ts.

  const requireApplication = async (name: string) => {
    if (!(await storage.getApplication(name))) throw errors.applicationNotFound(name);
  };

  app.post<{ Body: { username: string; password: string } }>(
    `${PREFIX}/sign-in`,
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password'],
          properties: { username: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 1000 } },
        },
      },
    },
    async (request, reply) => {
      if (!isSameOrigin(request)) throw errors.crossSiteRequest();
      const client = request.ip;
      const username = request.body.username.trim();
      const wait = limiter.retryAfter(username, client);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw errors.rateLimited('failed sign-ins', { minutes: Math.ceil(wait / 60), liftedBy: 'an admin (Users page, or DELETE /api/v1/sign-in-throttles)' });
      }
      const user = await users.verify(username, request.body.password);
      if (!user) {
        limiter.recordFailure(username, client);
        deps.logger.warn({ code: 'SIGN_IN_FAILED', ip: client }, 'dashboard sign-in failed');
        throw errors.signInFailed();
      }
      limiter.recordSuccess(username, client);
      const { token, maxAgeSeconds } = await sessions.create(user.username);
      setSessionCookie(reply, token, { maxAgeSeconds, secure: secure(request) });
      await accounts.audit.record({
        actor: { kind: 'user', name: user.username, role: user.role },
        clientAddress: client,
        action: 'user.sign-in',
        method: 'POST',
        path: `${PREFIX}/sign-in`,
        endpointId: null,
        target: user.username,
        before: null,
        after: null,
      });
      return { username: user.username, role: user.role };
    },
  );

  app.post(`${PREFIX}/sign-out`, { config: { audit: false } }, async (request, reply) => {
    await sessions.revoke(sessionCookieOf(request));
    setSessionCookie(reply, '', { maxAgeSeconds: 0, secure: secure(request) });
    return reply.code(204).send();
  });

  app.get(`${PREFIX}/me`, async (request): Promise<MeInfo> => {
    const principal = await accounts.sessionPrincipal(sessionCookieOf(request));
    return principal === undefined ? { signedIn: false, hint: SIGN_IN_HINT } : { signedIn: true, username: principal.name, role: principal.role };
  });

  app.get(`${PREFIX}/info`, async (request): Promise<ServerInfo> => {
    const host = deps.publicHost();
    // Listening on every interface says nothing about the reachable name; the browser's host is a good guess.
    return { mqttHost: WILDCARD_HOSTS.has(host) ? request.hostname : host, mqttPort: deps.mqttPort() };
  });

  app.get<{ Params: AppParams }>(`${PREFIX}/applications/:applicationName/widget`, { schema: { params: appParams } }, async (request) => {
    await requireApplication(request.params.applicationName);
    return settings.getWidget(request.params.applicationName);
  });

  app.put<{ Params: AppParams; Body: { columns: WidgetConfig['columns']; pageSize?: number } }>(
    `${PREFIX}/applications/:applicationName/widget`,
    { schema: { params: appParams, body: widgetSchema } },
    async (request) => {
      await requireApplication(request.params.applicationName);
      return settings.putWidget(request.params.applicationName, request.body);
    },
  );

  app.get<{ Params: AppParams }>(`${PREFIX}/applications/:applicationName/form`, { schema: { params: appParams } }, async (request) => {
    await requireApplication(request.params.applicationName);
    return settings.getForm(request.params.applicationName);
  });

  app.put<{ Params: AppParams; Body: { fields: Array<Omit<FormDefinition['fields'][number], 'required'> & { required?: boolean }> } }>(
    `${PREFIX}/applications/:applicationName/form`,
    { schema: { params: appParams, body: formSchema } },
    async (request) => {
      await requireApplication(request.params.applicationName);
      return settings.putForm(request.params.applicationName, request.body);
    },
  );

  // Suggestions for column and field keys: keys any endpoint of the application already has.
  app.get<{ Params: AppParams }>(`${PREFIX}/applications/:applicationName/metadata-keys`, { schema: { params: appParams } }, async (request) => {
    await requireApplication(request.params.applicationName);
    return { keys: await storage.metadataKeysOfApplication(request.params.applicationName) };
  });

  app.get<{ Querystring: AppParams }>(
    `${PREFIX}/events`,
    { schema: { querystring: appParams } },
    async (request, reply: FastifyReply) => {
      await requireApplication(request.query.applicationName);
      live.assertCapacity();
      reply.hijack();
      live.open(request.query.applicationName, reply.raw, () => request.stillAllowed());
    },
  );
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { NAME_PATTERN } from '../../core/names.js';
import type { Storage } from '../../storage/storage.js';
import type { AdminAccount } from './admin-account.js';
import { dashboardErrorHandler } from './http-errors.js';
import type { LiveEvents } from './live-events.js';
import { SESSION_COOKIE, type FormDefinition, type MeInfo, type ServerInfo, type WidgetConfig } from './model.js';
import { isSameOrigin } from './same-origin.js';
import { readCookie, sessionCookie, type SessionStore } from './sessions.js';
import { formSchema, widgetSchema, type DashboardSettings } from './settings.js';
import type { SignInLimiter } from './sign-in-limiter.js';

export interface RouteDeps {
  storage: Storage;
  account: AdminAccount;
  sessions: SessionStore;
  limiter: SignInLimiter;
  settings: DashboardSettings;
  live: LiveEvents;
  logger: Logger;
  mqttPort: () => number;
  publicHost: () => string;
  secureCookies: boolean;
}

const PREFIX = '/dashboard/api';
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
  const { storage, account, sessions, limiter, settings, live } = deps;
  app.setErrorHandler(dashboardErrorHandler(deps.logger));

  const cookieOf = (request: FastifyRequest) => readCookie(request.headers.cookie, SESSION_COOKIE);
  const secure = (request: FastifyRequest) => deps.secureCookies || request.protocol === 'https';

  // Every dashboard route but sign-in needs a signed-in browser.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith(`${PREFIX}/`) || path === `${PREFIX}/sign-in` || path === `${PREFIX}/me`) return;
    if (sessions.lookup(cookieOf(request)) === undefined) throw errors.unauthorized();
    if (!isSameOrigin(request)) throw errors.forbidden('The request came from another site. Use the dashboard served by this server.');
  });

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
      if (!isSameOrigin(request)) throw errors.forbidden('The request came from another site. Use the dashboard served by this server.');
      const client = request.ip;
      const wait = limiter.retryAfter(client);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw errors.rateLimited(`failed sign-ins; wait ${Math.ceil(wait / 60)} min`);
      }
      if (!(await account.verify(request.body.username.trim(), request.body.password))) {
        limiter.recordFailure(client);
        deps.logger.warn({ code: 'SIGN_IN_FAILED', ip: client }, 'dashboard sign-in failed');
        throw errors.signInFailed();
      }
      limiter.recordSuccess(client);
      const { token, maxAgeSeconds } = await sessions.create(account.username);
      reply.header('set-cookie', sessionCookie(SESSION_COOKIE, token, { maxAgeSeconds, secure: secure(request) }));
      return { username: account.username };
    },
  );

  app.post(`${PREFIX}/sign-out`, async (request, reply) => {
    await sessions.revoke(cookieOf(request));
    reply.header('set-cookie', sessionCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: secure(request) }));
    return reply.code(204).send();
  });

  app.get(`${PREFIX}/me`, async (request): Promise<MeInfo> => {
    const username = sessions.lookup(cookieOf(request));
    return username === undefined ? { signedIn: false } : { signedIn: true, username };
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
      live.open(request.query.applicationName, reply.raw);
    },
  );
}

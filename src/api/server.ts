/**
 * Builds the REST API as a fastify instance (not listening: the composition root calls listen).
 * Layout: global pieces first (error format, security headers, OpenAPI), then the dashboard's
 * plugins, then the API routes in their own encapsulated context where authentication applies.
 */
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { errors } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { EventBus } from '../bus/bus.js';
import type { Storage } from '../storage/storage.js';
import { type AccessControl, installAccessControl, type SessionVerifier } from '../access/control.js';
import { registerCookies } from '../access/session-cookie.js';
import { createSnapshotter, installAuditHook } from '../access/audit-hook.js';
import type { Accounts } from '../accounts/index.js';
import { accountRoutes } from './routes/accounts.js';
import { transferRoutes } from './routes/transfer.js';
import { registerApiDocs } from './docs.js';
import type { StorageFull } from '../core/storage-full.js';
import { MAX_PATH_PARAM_LENGTH, explainingJsonParser, installErrorHandling, requestErrorLog, routerErrors } from './error-handler.js';
import { JSON_PATCH, MERGE_PATCH } from './metadata-patch.js';
import { openApiRoute, registerOpenApi } from './openapi.js';
import { applicationRoutes } from './routes/applications.js';
import { clientCredentialRoutes } from './routes/client-credentials.js';
import type { ClientAuthService } from '../client-auth/index.js';
import { endpointRoutes } from './routes/endpoints.js';
import { metadataRoutes } from './routes/metadata.js';
import { tokenRoutes } from './routes/tokens.js';
import { timeSeriesRoutes } from './routes/time-series.js';
import { configurationRoutes } from './routes/configurations.js';
import { commandRoutes } from './routes/commands.js';
import { packageRoutes } from './routes/packages.js';
import type { PackageService } from '../software/packages/index.js';
import { softwareRoutes } from './routes/software.js';
import { rolloutRoutes } from './routes/rollouts.js';
import type { RolloutService } from '../rollouts/service.js';
import type { ConfigurationService } from '../configuration/service.js';
import type { SoftwareService } from '../software/service.js';
import type { CommandService } from '../commands/service.js';
import type { TimeSeriesService } from '../time-series/service.js';
import { sharedSchemas } from './schemas.js';
import { installSecurityHeaders } from './security-headers.js';
import { ajvTetherKeywords, formatSchemaErrors } from './validation.js';

export interface ApiDeps {
  services: Services;
  storage: Storage;
  bus: EventBus;
  logger: Logger;
  /** Told of writes refused for a full disk, logged once per interval (src/core/storage-full.ts). */
  storageFull?: Pick<StorageFull, 'refused'>;
  /** Bearer key for every API route. Empty disables bearer auth (sessions only). */
  adminApiKey: string;
  /** The dashboard's cookie session check; a truthy result authorizes an API call. */
  sessionVerifier?: SessionVerifier;
  /** Mark re-issued session cookies Secure (the HTTP server speaks TLS). */
  secureCookies?: boolean;
  /** Called with the root instance before the API routes (dashboard: sign-in, static files, SSE). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Largest accepted request body in bytes (default: limits.httpBodyLimit, 1 MiB). */
  bodyLimit?: number;
  /** Token issue requests per client IP per minute (default: limits.tokenIssuePerMinute). */
  tokenIssuePerMinute?: number;
  /** Client credentials (MQTT username/password, X.509); their routes are served only when given. */
  clientAuth?: ClientAuthService;
  /** Kaa EPTS routes (/epts/api/v1) and time series definitions; served only when given. */
  timeSeries?: TimeSeriesService;
  /** Users, API keys, audit log (docs/accounts.md); their routes and the audit trail need it. */
  accounts?: Accounts;
  /** Kaa ECR (/ecr/api/v1) and CEX (/cex/api/v1) routes; served only when given. */
  control?: { configurations: ConfigurationService; commands: CommandService };
  /** Software packages under /otao/api/v1 (docs/software.md); served only when given. */
  packages?: PackageService;
  /** Kaa OTAO software versions (/otao/api/v1, docs/software.md); served only when given. */
  software?: SoftwareService;
  /** Rollouts of software versions (/otao/api/v1/…/rollouts, docs/rollouts.md); served only when given. */
  rollouts?: RolloutService;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its access rule (src/access/rules.ts). */
    accessControl: AccessControl;
  }
}

const DEFAULT_BODY_LIMIT = DEFAULT_LIMITS.httpBodyLimit;

/** Path prefixes this module owns; anything unmatched below them is a JSON 404 even if a plugin has a catch-all route. */
const OWNED_PREFIXES = ['/epr/api/v1', '/cm/api/v1', '/api/v1', '/epts/api/v1', '/ecr/api/v1', '/cex/api/v1', '/otao/api/v1'];

export async function createApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const logger = deps.logger.child({ component: 'api' });
  if (deps.adminApiKey.length === 0) logger.warn({}, 'no admin API key configured: only dashboard sessions can use the REST API');

  const requestErrors = requestErrorLog(logger);
  const app = Fastify({
    // Requests are logged by the error handler (once per failure), not per request by fastify.
    logger: false,
    bodyLimit,
    ajv: { customOptions: { verbose: true }, plugins: [ajvTetherKeywords] },
    schemaErrorFormatter: (ajvErrors, part) => formatSchemaErrors(ajvErrors, part),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: routerErrors(requestErrors),
  });

  installErrorHandling(app, requestErrors, bodyLimit, deps.storageFull);
  // Syntax errors in JSON bodies answered with where and what (a trailing comma, say).
  const jsonParser = explainingJsonParser(app.getDefaultJsonParser('error', 'error') as Parameters<typeof explainingJsonParser>[0]);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonParser);
  installSecurityHeaders(app);
  // Before access control, whose hook reads the session cookie.
  await registerCookies(app);
  // Before any route: every route registered after this gets its access rule checked.
  const accounts = deps.accounts;
  const accessControl = installAccessControl(app, {
    adminApiKey: deps.adminApiKey,
    ...(accounts && { apiKey: (key: string) => accounts.apiKeys.authenticate(key), revokedApiKey: (key: string) => accounts.apiKeys.revoked(key) }),
    ...(deps.sessionVerifier && { sessionVerifier: deps.sessionVerifier }),
    logger,
  });
  app.decorate('accessControl', accessControl);
  if (accounts) installAuditHook(app, accounts, createSnapshotter(deps.services, accounts, deps.clientAuth));
  for (const schema of sharedSchemas) app.addSchema(schema);
  await registerOpenApi(app);
  openApiRoute(app);
  await registerApiDocs(app);

  for (const plugin of deps.plugins ?? []) await plugin(app);

  await app.register(async (api) => {
    // Per-route limits only (routes opt in with `config.rateLimit`); the 429 is a catalog error.
    await api.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) => errors.rateLimited(`requests of this kind; retry in ${context.after}`),
    });
    // Patch media types parse as JSON with the same prototype-poisoning protection as application/json.
    api.addContentTypeParser([JSON_PATCH, MERGE_PATCH], { parseAs: 'string' }, jsonParser);

    endpointRoutes(api, deps.services, deps.software);
    metadataRoutes(api, deps.services);
    tokenRoutes(api, deps.services, { issuePerMinute: deps.tokenIssuePerMinute ?? DEFAULT_LIMITS.tokenIssuePerMinute });
    applicationRoutes(api, deps.services);
    if (deps.clientAuth) clientCredentialRoutes(api, deps.clientAuth);
    if (deps.timeSeries) timeSeriesRoutes(api, deps.timeSeries);
    if (deps.control) {
      configurationRoutes(api, deps.control.configurations);
      commandRoutes(api, deps.control.commands, deps.services);
    }
    if (deps.packages) packageRoutes(api, deps.packages, accounts);
    if (deps.software) softwareRoutes(api, deps.software, deps.services);
    if (deps.rollouts) rolloutRoutes(api, deps.rollouts);
    if (accounts) {
      accountRoutes(api, accounts, { secureCookies: deps.secureCookies ?? false });
      transferRoutes(api, deps.services, deps.storage, accounts);
    }

    for (const prefix of OWNED_PREFIXES) {
      api.all(`${prefix}/*`, { schema: { hide: true } }, async (request) => {
        throw errors.notFound(`Route ${request.method} ${request.url.split('?')[0]}`);
      });
    }
  });

  return app;
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventBus } from '../../bus/bus.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { Storage } from '../../storage/storage.js';
import { AdminAccount } from './admin-account.js';
import { LiveEvents } from './live-events.js';
import { MapSettingsStore, registerMapRoutes } from './map-settings.js';
import { SESSION_COOKIE } from './model.js';
import { registerDashboardRoutes } from './routes.js';
import { isSameOrigin } from './same-origin.js';
import { readCookie, SessionStore } from './sessions.js';
import { DashboardSettings } from './settings.js';
import { SignInLimiter } from './sign-in-limiter.js';
import { defaultWebRoot, registerStaticFiles } from './static-files.js';

export interface DashboardDeps {
  storage: Storage;
  bus: EventBus;
  logger: Logger;
  /** TETHER_ADMIN_PASSWORD: the admin's password on first start; generated (and returned once) when absent. */
  adminPassword?: string;
  /** The MQTT port devices use, for the command lines the dashboard shows. */
  mqttPort: () => number;
  /** The host devices use; a wildcard address (0.0.0.0, ::) means "the host the browser used". */
  publicHost: () => string;
  /** Mark the session cookie Secure (the HTTP server speaks TLS). */
  secureCookies: boolean;
  clock?: Clock;
  /** Folder with the built SPA; defaults to dist/web of this package (or TETHER_DASHBOARD_WEB_ROOT). */
  webRoot?: string;
}

export interface Dashboard {
  /** Adds the SPA at `/` and the dashboard routes under `/dashboard/api/` to the HTTP server. */
  plugin: (app: FastifyInstance) => Promise<void>;
  /** True when the request carries a valid dashboard session: lets the REST API serve the browser. */
  sessionVerifier: (request: FastifyRequest) => boolean;
  /** Set only on the very first start without TETHER_ADMIN_PASSWORD: print it once. */
  generatedAdminPassword?: string;
  /** Ends the live-update streams. */
  close(): void;
}

export async function createDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'dashboard' });
  const { account, generatedPassword } = await AdminAccount.ensure(deps.storage, {
    ...(deps.adminPassword !== undefined ? { initialPassword: deps.adminPassword } : {}),
    clock,
    logger,
  });
  const sessions = await SessionStore.load(deps.storage, clock, logger);
  const live = new LiveEvents(deps.bus);
  const mapSettings = await MapSettingsStore.load(deps.storage);
  const webRoot = deps.webRoot ?? defaultWebRoot();

  const sessionVerifier = (request: FastifyRequest): boolean =>
    // A cookie alone must not authorize a cross-site write (SameSite=Strict already stops it in
    // current browsers; the Origin check covers older ones).
    sessions.lookup(readCookie(request.headers.cookie, SESSION_COOKIE)) !== undefined && isSameOrigin(request);

  const plugin = async (app: FastifyInstance): Promise<void> => {
    // Own encapsulated scope, so the error handler and hooks below never touch the REST API's routes.
    await app.register(async (scope) => {
      registerDashboardRoutes(scope, {
        storage: deps.storage,
        account,
        sessions,
        limiter: new SignInLimiter(clock),
        settings: new DashboardSettings(deps.storage),
        live,
        logger,
        mqttPort: deps.mqttPort,
        publicHost: deps.publicHost,
        secureCookies: deps.secureCookies,
      });
      registerMapRoutes(scope, mapSettings);
      registerStaticFiles(scope, webRoot, () => mapSettings.imageSources());
    });
    // Open event streams would keep the HTTP server from closing.
    app.addHook('preClose', async () => live.close());
  };

  return {
    plugin,
    sessionVerifier,
    ...(generatedPassword !== undefined ? { generatedAdminPassword: generatedPassword } : {}),
    close: () => live.close(),
  };
}

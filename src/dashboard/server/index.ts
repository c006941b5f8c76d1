import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventBus } from '../../bus/bus.js';
import type { Logger } from '../../core/log.js';
import type { Storage } from '../../storage/storage.js';
import type { Accounts } from '../../accounts/index.js';
import type { Principal } from '../../core/accounts.js';
import { sessionCookieOf } from '../../access/session-cookie.js';
import { LiveEvents } from './live-events.js';
import { MapSettingsStore, registerMapRoutes } from './map-settings.js';
import { registerDashboardRoutes } from './routes.js';
import { isSameOrigin } from './same-origin.js';
import { DashboardSettings } from './settings.js';
import { defaultWebRoot, registerStaticFiles } from './static-files.js';

export interface DashboardDeps {
  storage: Storage;
  /** Users, sessions and sign-in throttles (src/accounts), shared with the REST API. */
  accounts: Accounts;
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
  /** Folder with the built SPA; defaults to dist/web of this package (tests pass a build of their own). */
  webRoot?: string;
  /** How often open live streams check their session or key again (default RECHECK_MS, 5 s). */
  liveRecheckMs?: number;
}

export interface Dashboard {
  /** Adds the SPA at `/` and the dashboard routes under `/dashboard/api/` to the HTTP server. */
  plugin: (app: FastifyInstance) => Promise<void>;
  /** The signed-in user (with their current role) behind the request's session cookie: lets the REST API serve the browser. */
  sessionVerifier: (request: FastifyRequest) => Promise<Principal | undefined>;
  /** Set only on the very first start without TETHER_ADMIN_PASSWORD: print it once. */
  generatedAdminPassword?: string;
  /** Ends the live-update streams. */
  close(): void;
}

export async function createDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const logger = deps.logger.child({ component: 'dashboard' });
  const { generatedPassword } = await deps.accounts.users.ensureAdmin(deps.adminPassword);
  const live = new LiveEvents(deps.bus, { ...(deps.liveRecheckMs !== undefined && { recheckMs: deps.liveRecheckMs }) });
  const mapSettings = await MapSettingsStore.load(deps.storage);
  const webRoot = deps.webRoot ?? defaultWebRoot();

  const sessionVerifier = async (request: FastifyRequest): Promise<Principal | undefined> =>
    // A cookie alone must not authorize a cross-site write (SameSite=Strict already stops it in
    // current browsers; the Origin check covers older ones).
    isSameOrigin(request) ? deps.accounts.sessionPrincipal(sessionCookieOf(request)) : undefined;

  const plugin = async (app: FastifyInstance): Promise<void> => {
    // Own encapsulated scope, so the hooks below never touch the REST API's routes.
    await app.register(async (scope) => {
      registerDashboardRoutes(scope, {
        storage: deps.storage,
        accounts: deps.accounts,
        settings: new DashboardSettings(deps.storage),
        live,
        logger,
        mqttPort: deps.mqttPort,
        publicHost: deps.publicHost,
        secureCookies: deps.secureCookies,
      });
      registerMapRoutes(scope, mapSettings);
      await registerStaticFiles(scope, webRoot, () => mapSettings.imageSources());
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

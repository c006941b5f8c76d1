import type { FastifyInstance } from 'fastify';
import type { Accounts } from '../../src/accounts/index.js';
import { createApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/log.js';
import { createDashboard, type Dashboard, type DashboardDeps } from '../../src/dashboard/server/index.js';
import type { TestServices } from '../helpers/services.js';

export const DASHBOARD_PASSWORD = 'initial-password-1';
export const ADMIN_API_KEY = 'test-admin-key';

/**
 * The dashboard's server side inside the real REST API (driven by fastify inject or a real socket),
 * as `tether start` wires them: the admin's first password is DASHBOARD_PASSWORD, the bootstrap
 * key ADMIN_API_KEY. `options` override the dashboard's settings.
 */
export async function dashboardInApi(
  services: TestServices,
  accounts: Accounts,
  webRoot: string,
  options: Partial<DashboardDeps> = {},
): Promise<{ dashboard: Dashboard; app: FastifyInstance; close: () => Promise<void> }> {
  const dashboard = await createDashboard({
    storage: services.storage,
    accounts,
    bus: services.bus,
    logger: silentLogger,
    adminPassword: DASHBOARD_PASSWORD,
    mqttPort: () => 1883,
    publicHost: () => 'iot.example.com',
    secureCookies: false,
    webRoot,
    ...options,
  });
  const app = await createApiServer({
    services,
    storage: services.storage,
    bus: services.bus,
    logger: silentLogger,
    adminApiKey: ADMIN_API_KEY,
    sessionVerifier: dashboard.sessionVerifier,
    plugins: [dashboard.plugin],
    accounts,
  });
  return {
    dashboard,
    app,
    close: async () => {
      await app.close();
      dashboard.close();
    },
  };
}

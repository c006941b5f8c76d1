/**
 * Who may call each HTTP route: the ONE table of access rules (docs/accounts.md, "Roles").
 *
 * Every route needs a rule: `public` (no credentials), or the least role it needs (`viewer` <
 * `operator` < `admin`). Adding a route means adding one line here, `'<METHOD> <path>': '<rule>'`
 * with the path exactly as registered (`:param` segments), or giving the route
 * `config: { access: '<rule>' }`. A key ending in `**` covers every path starting with what precedes
 * it (a single `*` is fastify's wildcard route, matched literally); `*` as the method covers every
 * method. HEAD follows GET.
 *
 * A route without a rule is refused to everyone but admins, and test/access/routes.test.ts (which
 * enumerates every registered route) fails until it has one.
 */
import type { Role } from '../core/accounts.js';

export type Access = 'public' | Role;

const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  // --- public: documents and the dashboard's sign-in -----------------------------------------
  'GET /api/openapi.json': 'public',
  'GET /api/docs**': 'public',
  'GET /': 'public',
  'GET /*': 'public',
  'POST /dashboard/api/sign-in': 'public',
  'GET /dashboard/api/me': 'public',
  // Probes and scrapers carry no credentials; none of these answers holds a secret (docs/operations.md).
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',

  // --- Kaa EPR: endpoints and metadata ----------------------------------------------------------
  'GET /epr/api/v1/endpoints': 'viewer',
  'POST /epr/api/v1/endpoints': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId': 'viewer',
  'DELETE /epr/api/v1/endpoints/:endpointId': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata': 'viewer',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata': 'operator',
  'PATCH /epr/api/v1/endpoints/:endpointId/metadata': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata/:key': 'viewer',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata/:key': 'operator',
  'DELETE /epr/api/v1/endpoints/:endpointId/metadata/:key': 'operator',
  'GET /epr/api/v1/endpoints/:endpointId/metadata-keys': 'viewer',
  'GET /epr/api/v1/applications/:applicationName/metadata-keys': 'viewer',

  // --- Kaa CM: tokens and client credentials -------------------------------------------------------
  'GET /cm/api/v1/endpoints/:endpointId/tokens': 'viewer',
  'POST /cm/api/v1/endpoints/:endpointId/tokens': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/suspend': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/reactivate': 'operator',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/revoke': 'operator',
  '* /cm/api/v1/client-credentials**': 'admin',

  // --- applications -------------------------------------------------------------------------------
  'GET /api/v1/applications': 'viewer',
  'POST /api/v1/applications': 'admin',
  'GET /api/v1/applications/:applicationName': 'viewer',
  'DELETE /api/v1/applications/:applicationName': 'admin',
  'GET /api/v1/applications/:applicationName/versions': 'viewer',
  'POST /api/v1/applications/:applicationName/versions': 'admin',
  'GET /api/v1/app-versions/:versionName': 'viewer',
  'PATCH /api/v1/app-versions/:versionName': 'admin',

  // --- Kaa EPTS: time series (docs/time-series.md) ------------------------------------------------------
  'GET /epts/api/v1/time-series/config': 'viewer',
  'GET /epts/api/v1/applications/:applicationName/time-series/last': 'viewer',
  'GET /epts/api/v1/applications/:applicationName/time-series/data': 'viewer',
  // Writing data points is what devices do; over REST it is back-fill by an operator or a system.
  'POST /epts/api/v1/applications/:applicationName/time-series/data': 'operator',
  'GET /api/v1/applications/:applicationName/time-series': 'viewer',
  // Definitions and retention shape what is extracted and how long it is kept: an admin's setting.
  'PUT /api/v1/applications/:applicationName/time-series': 'admin',

  // --- accounts (docs/accounts.md) ------------------------------------------------------------------
  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/:username': 'admin',
  'PUT /api/v1/users/:username/role': 'admin',
  'PUT /api/v1/users/:username/password': 'admin',
  'DELETE /api/v1/users/:username': 'admin',
  'PUT /api/v1/me/password': 'viewer',
  'GET /api/v1/sign-in-throttles': 'admin',
  'DELETE /api/v1/sign-in-throttles': 'admin',
  'GET /api/v1/api-keys': 'admin',
  'POST /api/v1/api-keys': 'admin',
  'DELETE /api/v1/api-keys/:keyId': 'admin',
  'GET /api/v1/audit': 'admin',
  'GET /api/v1/endpoints/:endpointId/metadata-history': 'viewer',

  // --- import, export, bulk -------------------------------------------------------------------------
  'GET /api/v1/endpoints/export': 'viewer',
  'POST /api/v1/endpoints/import': 'operator',
  'POST /api/v1/endpoints/bulk': 'operator',

  // --- dashboard ----------------------------------------------------------------------------------
  'POST /dashboard/api/sign-out': 'viewer',
  'GET /dashboard/api/info': 'viewer',
  'GET /dashboard/api/events': 'viewer',
  'GET /dashboard/api/applications/:applicationName/widget': 'viewer',
  'PUT /dashboard/api/applications/:applicationName/widget': 'admin',
  'GET /dashboard/api/applications/:applicationName/form': 'viewer',
  'PUT /dashboard/api/applications/:applicationName/form': 'admin',
  'GET /dashboard/api/applications/:applicationName/metadata-keys': 'viewer',
  'GET /dashboard/api/map': 'viewer',
  // The tile server widens the dashboard's content security policy: an admin's setting.
  'PUT /dashboard/api/map': 'admin',

  // --- software packages (docs/software.md) ------------------------------------------------------
  // Devices download with their endpoint token or a signed URL, checked by the route; never an API key or session.
  'GET /otao/api/v1/packages/:appName/:version': 'public',

  // --- unknown paths under the API prefixes: a JSON 404 once signed in ------------------------------
  '* /epr/api/v1/*': 'viewer',
  '* /cm/api/v1/*': 'viewer',
  '* /api/v1/*': 'viewer',
  '* /epts/api/v1/*': 'viewer',
  '* /ecr/api/v1/*': 'viewer',
  '* /cex/api/v1/*': 'viewer',
  '* /otao/api/v1/*': 'viewer',
};

/** The rule for a registered route (method as fastify reports it, url with `:params`), or undefined. */
export function ruleFor(method: string, url: string, table: Readonly<Record<string, Access>> = ROUTE_ACCESS): Access | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  const exact = table[`${m} ${url}`] ?? table[`* ${url}`];
  if (exact !== undefined) return exact;
  let best: { length: number; access: Access } | undefined;
  for (const [key, access] of Object.entries(table)) {
    if (!key.endsWith('**')) continue;
    const space = key.indexOf(' ');
    const keyMethod = key.slice(0, space);
    const prefix = key.slice(space + 1, -2);
    if ((keyMethod === m || keyMethod === '*') && url.startsWith(prefix) && (!best || prefix.length > best.length)) best = { length: prefix.length, access };
  }
  return best?.access;
}

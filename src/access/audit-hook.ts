/**
 * Writes an audit entry for every successful change made over HTTP (docs/accounts.md, "Audit log"):
 * who (request.principal), from where, what (an action named after the route) and the before/after
 * state of what the route changes, taken from its path parameters (endpoint: metadata and token
 * statuses; user: role; API key: name, role, status; application or version). Never secrets.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Accounts } from '../accounts/index.js';
import type { JsonValue } from '../core/types.js';
import type { Services } from '../core/services.js';
import type { ClientAuthService } from '../client-auth/index.js';
import type { Access } from './rules.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Action names for the audit log; routes not listed are named `<METHOD> <path>`. */
const ACTIONS: Record<string, string> = {
  'POST /epr/api/v1/endpoints': 'endpoint.create',
  'DELETE /epr/api/v1/endpoints/:endpointId': 'endpoint.delete',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata': 'metadata.update',
  'PATCH /epr/api/v1/endpoints/:endpointId/metadata': 'metadata.update',
  'PUT /epr/api/v1/endpoints/:endpointId/metadata/:key': 'metadata.update',
  'DELETE /epr/api/v1/endpoints/:endpointId/metadata/:key': 'metadata.update',
  'POST /cm/api/v1/endpoints/:endpointId/tokens': 'token.issue',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/suspend': 'token.suspend',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/reactivate': 'token.reactivate',
  'POST /cm/api/v1/endpoints/:endpointId/tokens/:tokenId/revoke': 'token.revoke',
  'POST /api/v1/applications': 'application.create',
  'DELETE /api/v1/applications/:applicationName': 'application.delete',
  'POST /api/v1/applications/:applicationName/versions': 'app-version.create',
  'PATCH /api/v1/app-versions/:versionName': 'app-version.update',
  'POST /cm/api/v1/client-credentials': 'client-credential.create',
  'PUT /cm/api/v1/client-credentials/:credentialId/endpoints': 'client-credential.bind',
  'POST /cm/api/v1/client-credentials/:credentialId/suspend': 'client-credential.suspend',
  'POST /cm/api/v1/client-credentials/:credentialId/reactivate': 'client-credential.reactivate',
  'POST /cm/api/v1/client-credentials/:credentialId/revoke': 'client-credential.revoke',
  'DELETE /cm/api/v1/client-credentials/:credentialId': 'client-credential.delete',
  'POST /api/v1/users': 'user.create',
  'PUT /api/v1/users/:username/role': 'user.set-role',
  'PUT /api/v1/users/:username/password': 'user.reset-password',
  'DELETE /api/v1/users/:username': 'user.delete',
  'PUT /api/v1/me/password': 'user.change-password',
  'DELETE /api/v1/sign-in-throttles': 'sign-in-throttle.clear',
  'POST /api/v1/api-keys': 'api-key.create',
  'DELETE /api/v1/api-keys/:keyId': 'api-key.revoke',
  'PUT /dashboard/api/applications/:applicationName/widget': 'dashboard.widget',
  'PUT /dashboard/api/applications/:applicationName/form': 'dashboard.form',
  'POST /dashboard/api/sign-out': 'user.sign-out',
};

function auditAction(method: string, url: string): string {
  return ACTIONS[`${method} ${url}`] ?? `${method} ${url}`;
}

/** What a change is about, by name: path parameters, plus the new ID a creation answers with. */
type Target = Record<string, string>;

/** Creations: which field of the answer names the new thing, and what kind of ID it is. */
const CREATED: Record<string, { field: string; as: (typeof TARGET_KEYS)[number] }> = {
  'POST /epr/api/v1/endpoints': { field: 'endpointId', as: 'endpointId' },
  'POST /api/v1/applications': { field: 'name', as: 'applicationName' },
  'POST /api/v1/applications/:applicationName/versions': { field: 'name', as: 'versionName' },
  'POST /cm/api/v1/client-credentials': { field: 'credentialId', as: 'credentialId' },
  'POST /api/v1/users': { field: 'username', as: 'username' },
  'POST /api/v1/api-keys': { field: 'keyId', as: 'keyId' },
};

interface Pending {
  action: string;
  target: Target;
  before: JsonValue | null;
}

const pendingAudit = new WeakMap<FastifyRequest, Pending>();

const TARGET_KEYS = ['endpointId', 'username', 'keyId', 'credentialId', 'versionName', 'applicationName'] as const;

function pickTarget(params: unknown): Target {
  const target: Target = {};
  if (typeof params !== 'object' || params === null) return target;
  for (const key of TARGET_KEYS) {
    const value = (params as Record<string, unknown>)[key];
    if (typeof value === 'string') target[key] = value;
  }
  return target;
}

/** The most specific thing a change is about, for `target` and for its snapshot. */
function primary(t: Target): Target {
  for (const key of TARGET_KEYS) if (t[key] !== undefined) return { [key]: t[key] };
  return {};
}

export interface Snapshotter {
  (target: Target): Promise<JsonValue | null>;
}

/** The state an audit entry shows before and after a change. */
export function createSnapshotter(services: Services, accounts: Accounts, clientAuth?: ClientAuthService): Snapshotter {
  return async (target) => {
    try {
      if (target.credentialId !== undefined) {
        const credential = await clientAuth?.getCredential(target.credentialId).catch(() => undefined);
        return credential ? { applicationName: credential.applicationName, kind: credential.kind, status: credential.status, boundEndpoints: credential.boundEndpoints } : null;
      }
      if (target.endpointId !== undefined) {
        const endpoint = await services.registry.getEndpoint(target.endpointId, true).catch(() => undefined);
        if (!endpoint) return null;
        const tokens = await services.credentials.listTokens(target.endpointId);
        return { metadata: endpoint.metadata ?? {}, tokens: tokens.map((t) => ({ tokenId: t.tokenId, status: t.status })) };
      }
      if (target.username !== undefined) {
        const user = await accounts.store.getUser(target.username);
        return user ? { role: user.role } : null;
      }
      if (target.keyId !== undefined) {
        const key = await accounts.store.getApiKey(target.keyId);
        return key ? { name: key.name, role: key.role, status: key.status } : null;
      }
      if (target.versionName !== undefined) {
        const version = await services.applications.getVersion(target.versionName).catch(() => undefined);
        return version ? (JSON.parse(JSON.stringify(version)) as JsonValue) : null;
      }
      if (target.applicationName !== undefined) {
        const application = await services.applications.getApplication(target.applicationName).catch(() => undefined);
        return application ? (JSON.parse(JSON.stringify(application)) as JsonValue) : null;
      }
    } catch {
      // A snapshot is context, not the change: the entry is still written without it.
    }
    return null;
  };
}

export function installAuditHook(app: FastifyInstance, accounts: Accounts, snapshot: Snapshotter): void {
  app.addHook('preHandler', async (request) => {
    const url = request.routeOptions.url;
    const config = request.routeOptions.config as { access?: Access; audit?: false };
    if (url === undefined || READS.has(request.method) || config.audit === false || config.access === 'public' || !request.principal) return;
    // Your own password: the change is about you.
    const target = url === '/api/v1/me/password' ? { username: request.principal.name } : primary(pickTarget(request.params));
    pendingAudit.set(request, { action: auditAction(request.method, url), target, before: Object.keys(target).length > 0 && !CREATED[`${request.method} ${url}`] ? await snapshot(target) : null });
  });

  // In onSend, not onResponse: the answer leaves only once its audit entry is stored, so whoever
  // reads the log after a change sees it. Creations name their new ID only in the response.
  app.addHook('onSend', async (request, reply, payload) => {
    const pending = pendingAudit.get(request);
    if (!pending || reply.statusCode >= 400 || !request.principal) return payload;
    pendingAudit.delete(request);
    const created = CREATED[`${request.method} ${request.routeOptions.url}`];
    if (created && typeof payload === 'string') {
      try {
        const id = (JSON.parse(payload) as Record<string, unknown>)[created.field];
        if (typeof id === 'string') pending.target = { [created.as]: id };
      } catch {
        // Not JSON: nothing to name.
      }
    }
    const t = pending.target;
    const after = Object.keys(t).length > 0 ? await snapshot(t) : null;
    await accounts.audit.record({
      actor: { kind: request.principal.kind, name: request.principal.name, role: request.principal.role },
      clientAddress: request.ip,
      action: pending.action,
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      endpointId: t.endpointId ?? null,
      target: t.endpointId ?? t.username ?? t.keyId ?? t.credentialId ?? t.versionName ?? t.applicationName ?? null,
      before: pending.before,
      after,
    });
    return payload;
  });
}

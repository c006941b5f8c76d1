/**
 * Authentication and role checks for every HTTP route, in one place (docs/accounts.md, "Roles").
 * Installed on the root fastify instance before any route, so it sees the REST API, the dashboard's
 * routes and anything added later alike. Each route's rule comes from `config.access` or from
 * rules.ts; a route with none is treated as admin-only and reported by `missingRules()`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Principal, roleRank } from '../core/accounts.js';
import { errors } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type Access, ruleFor } from './rules.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; see src/access/rules.ts. */
    access?: Access;
    /** false: the handler writes its own audit entries (bulk actions, import, sign-in). */
    audit?: false;
  }
  interface FastifyRequest {
    /** Who is calling; set before the handler runs (absent on public routes called anonymously). */
    principal?: Principal;
    /**
     * Checks the request's credentials and role again, as of now: for responses that outlive the
     * request (the live stream), which must end once the key is revoked or the session is over.
     */
    stillAllowed(): Promise<boolean>;
  }
}

/**
 * The dashboard's cookie check. A Principal is the signed-in user; `true` (older callers) means
 * "signed in as the admin"; false/undefined means no session.
 */
export type SessionVerifier = (request: FastifyRequest) => Principal | boolean | undefined | Promise<Principal | boolean | undefined>;

export interface AccessOptions {
  /** The bootstrap admin key. Empty disables it (never accepts an empty bearer). */
  adminApiKey: string;
  /** Named API keys: the key's principal, or undefined for an unknown or revoked key. */
  apiKey?: (key: string) => Promise<Principal | undefined>;
  /** A refused key's name and revocation date if it was revoked, so the answer can say so. */
  revokedApiKey?: (key: string) => Promise<{ name: string; revokedDate: string } | undefined>;
  sessionVerifier?: SessionVerifier;
  logger: Logger;
}

export interface RegisteredRoute {
  method: string;
  url: string;
  access: Access | undefined;
}

export interface AccessControl {
  /** Every route registered so far, with its rule (undefined: none). */
  routes(): RegisteredRoute[];
  missingRules(): RegisteredRoute[];
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const BOOTSTRAP: Principal = { kind: 'bootstrap-key', name: 'bootstrap', role: 'admin' };

export function installAccessControl(app: FastifyInstance, options: AccessOptions): AccessControl {
  const registered: RegisteredRoute[] = [];
  // Comparing fixed-length digests keeps timingSafeEqual from leaking the key's length.
  const expected = options.adminApiKey.length > 0 ? digest(options.adminApiKey) : undefined;

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ??= {}) as { access?: Access };
    for (const method of methods) {
      const access = config.access ?? ruleFor(method, route.url);
      registered.push({ method, url: route.url, access });
      if (method !== 'HEAD' && access === undefined) options.logger.warn({ method, url: route.url }, 'route has no access rule (src/access/rules.ts): only admins may call it');
    }
    if (config.access === undefined) {
      const rule = ruleFor(methods[0]!, route.url);
      if (rule !== undefined) config.access = rule;
    }
  });

  const bearer = (header: string | undefined): string | undefined => /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];

  async function authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const key = bearer(request.headers.authorization);
    if (key !== undefined) {
      if (expected && timingSafeEqual(digest(key), expected)) return BOOTSTRAP;
      const principal = await options.apiKey?.(key);
      if (principal) return principal;
    }
    const session = await options.sessionVerifier?.(request);
    if (session === true) return { kind: 'user', name: 'admin', role: 'admin' };
    return session || undefined;
  }

  /** One message per cause: no credentials, a key this server does not know, a revoked key. */
  async function refusal(request: FastifyRequest): Promise<Error> {
    const key = bearer(request.headers.authorization);
    if (key === undefined) return errors.unauthorized();
    const revoked = await options.revokedApiKey?.(key);
    return revoked ? errors.apiKeyRevoked(revoked.name, revoked.revokedDate) : errors.apiKeyInvalid();
  }

  const accessOf = (request: FastifyRequest): Access => (request.routeOptions.config as { access?: Access }).access ?? 'admin';

  // A method shared by every request, not a closure made for each: only the live stream calls it.
  app.decorateRequest('stillAllowed', async function (this: FastifyRequest): Promise<boolean> {
    const access = accessOf(this);
    if (access === 'public') return true;
    const principal = await authenticate(this);
    return principal !== undefined && roleRank(principal.role) >= roleRank(access);
  });

  app.addHook('onRequest', async (request) => {
    // No route matched: the not-found handler answers, whoever asks.
    if (request.routeOptions.url === undefined) return;
    const access = accessOf(request);
    const principal = await authenticate(request);
    if (principal) request.principal = principal;
    if (access === 'public') return;
    if (!principal) throw await refusal(request);
    if (roleRank(principal.role) < roleRank(access)) {
      const who = principal.kind === 'user' ? `user "${principal.name}"` : principal.kind === 'api-key' ? `API key "${principal.name}"` : principal.name;
      throw errors.roleTooLow(access, who, principal.role);
    }
  });

  return {
    routes: () => [...registered],
    missingRules: () => registered.filter((r) => r.access === undefined && r.method !== 'HEAD'),
  };
}

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';

/**
 * Where `vite build` puts the SPA: `<package>/dist/web`. This file compiles to
 * `<package>/dist/src/dashboard/server/`, so the SPA is three folders up.
 * TETHER_DASHBOARD_WEB_ROOT overrides it (tests build the SPA into a temp dir).
 */
export function defaultWebRoot(): string {
  return process.env.TETHER_DASHBOARD_WEB_ROOT ?? fileURLToPath(new URL('../../../web/', import.meta.url));
}

/** Paths the SPA must never shadow: a typo in an API URL gets a JSON 404, not index.html. */
const API_PREFIXES = ['/api/', '/epr/', '/cm/', '/epts/', '/dashboard/api/'];

/**
 * The SPA's own page paths (src/dashboard/web/src/App.tsx routes): only these get index.html. Any
 * other path is a JSON 404, so a probe or scraper that asks a wrong path (/health, /metric) hears
 * "not found" rather than a 200 page. A new dashboard page adds its path here.
 */
const PAGE_PATHS = [/^\/$/, /^\/endpoints\/[^/]+\/?$/, /^\/(users|api-keys|audit)\/?$/];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

// Everything ships with the package, so the page may load only from this origin; the one
// exception is the map tile server an operator configured (img-src only).
const csp = (imageSources: readonly string[]) =>
  `default-src 'self'; script-src 'self'; style-src 'self'; img-src ${["'self'", 'data:', ...imageSources].join(' ')}; connect-src 'self'; ` +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tether</title></head>
<body><h1>The Tether dashboard is not built</h1>
<p>Run <code>npm run build:dashboard</code> in the Tether folder (npm install does it too), then reload this page.
The REST API works meanwhile.</p></body></html>`;

async function fileAt(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = path.resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function send(reply: FastifyReply, file: string, cache: string, imageSources: readonly string[] = []): FastifyReply {
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  reply.header('content-type', type).header('cache-control', cache).header('x-content-type-options', 'nosniff');
  if (type.startsWith('text/html')) {
    reply.header('content-security-policy', csp(imageSources)).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
  }
  return reply.send(createReadStream(file));
}

/** Serves the built SPA at `/`, with index.html for any other page path (client-side routes). */
export function registerStaticFiles(app: FastifyInstance, webRoot: string, imageSources: () => readonly string[] = () => []): void {
  const root = path.resolve(webRoot);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const urlPath = (request.raw.url ?? '/').split('?')[0] ?? '/';
    if (API_PREFIXES.some((prefix) => urlPath.startsWith(prefix))) {
      throw errors.notFound(`Route ${request.method} ${urlPath}`);
    }
    const file = urlPath === '/' ? undefined : await fileAt(root, urlPath);
    // Vite puts content-hashed bundles under assets/: they never change under the same name.
    if (file) return send(reply, file, urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (path.extname(urlPath) !== '') throw errors.notFound(`File ${urlPath}`);
    if (!PAGE_PATHS.some((page) => page.test(urlPath))) throw errors.notFound(`Route ${request.method} ${urlPath}`);
    const index = await fileAt(root, '/index.html');
    if (!index) return reply.code(503).header('content-type', 'text/html; charset=utf-8').send(NOT_BUILT);
    return send(reply, index, 'no-cache', imageSources());
  };
  app.get('/', handler);
  app.get('/*', handler);
}

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';

/**
 * Where `vite build` puts the SPA: `<package>/dist/web`. This file compiles to
 * `<package>/dist/src/dashboard/server/`, so the SPA is three folders up.
 */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../../web/', import.meta.url));
}

/** Paths the SPA must never shadow: a typo in an API URL gets a JSON 404, not index.html. */
const API_PREFIXES = ['/api/', '/epr/', '/cm/', '/epts/', '/dashboard/api/'];

/**
 * The SPA's own page paths (src/dashboard/web/src/App.tsx routes): only these get index.html. Any
 * other path is a JSON 404, so a probe or scraper that asks a wrong path (/health, /metric) hears
 * "not found" rather than a 200 page. A new dashboard page adds its path here.
 */
const PAGE_PATHS = [/^\/$/, /^\/endpoints\/[^/]+\/?$/, /^\/(users|api-keys|audit|software)\/?$/, /^\/rollouts\/[^/]+\/?$/];

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

/**
 * Serves the built SPA at `/`, with index.html for its page paths (client-side routes). Which file
 * answers (or which 404) is decided here; @fastify/static sends it (content type, length, ranges,
 * conditional requests).
 */
export async function registerStaticFiles(app: FastifyInstance, webRoot: string, imageSources: () => readonly string[] = () => []): Promise<void> {
  const root = path.resolve(webRoot);
  const assets = path.join(root, 'assets') + path.sep;
  await app.register(fastifyStatic, {
    serve: false,
    // Instead of send's `public, max-age=0`: Vite puts content-hashed bundles under assets/, which
    // never change under the same name; everything else (index.html first) is revalidated.
    cacheControl: false,
    setHeaders: (reply, file) => {
      reply.header('cache-control', file.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache').header('x-content-type-options', 'nosniff');
      // send's mime table still says application/javascript; RFC 9239 made text/javascript the name.
      if (path.extname(file) === '.js') reply.header('content-type', 'text/javascript; charset=utf-8');
      if (path.extname(file) === '.html') {
        reply.header('content-security-policy', csp(imageSources())).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
      }
    },
  });
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const urlPath = (request.raw.url ?? '/').split('?')[0] ?? '/';
    if (API_PREFIXES.some((prefix) => urlPath.startsWith(prefix))) {
      throw errors.notFound(`Route ${request.method} ${urlPath}`);
    }
    const file = urlPath === '/' ? undefined : await fileAt(root, urlPath);
    if (file) return reply.sendFile(path.relative(root, file).split(path.sep).join('/'), root);
    if (path.extname(urlPath) !== '') throw errors.notFound(`File ${urlPath}`);
    if (!PAGE_PATHS.some((page) => page.test(urlPath))) throw errors.notFound(`Route ${request.method} ${urlPath}`);
    if (!(await fileAt(root, '/index.html'))) return reply.code(503).header('content-type', 'text/html; charset=utf-8').send(NOT_BUILT);
    return reply.sendFile('index.html', root);
  };
  app.get('/', handler);
  app.get('/*', handler);
}

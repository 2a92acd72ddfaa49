/**
 * The admin dashboard's files, served by the API process at `<control prefix>/dashboard/`: the
 * page Vite builds from `dashboard/` into `dist/dashboard/static/` (`npm run build`). Only
 * files: every figure the page shows comes from the HTTP API, called by the browser with the
 * credential the operator types in, so authentication, roles and tenants are the API's own.
 * The files themselves are public — they hold no data — which lets the page load and ask for
 * a key when auth is on.
 *
 * `/dashboard` (no slash) redirects to `dashboard/`, relatively, so the page's relative asset
 * and API paths resolve under any control prefix and behind a proxy that mounts OpenHQM on a
 * sub-path. The page runs under a Content-Security-Policy that allows its own files and
 * same-origin requests only: no inline script or style, no other origin, no framing.
 *
 * `app/` mounts this plugin through the API's `dashboard` dependency; `api/` never imports it.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { HqmError } from '../core/errors.js';

/**
 * Where the build puts the page. The same two levels up from this module whether it runs as
 * `src/dashboard/plugin.ts` (tests) or `dist/dashboard/plugin.js` (the package).
 */
export const DASHBOARD_ROOT = fileURLToPath(new URL('../../dist/dashboard/static/', import.meta.url));

/** The page's own files and same-origin API calls; nothing inline, nothing from elsewhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  // The page never builds HTML from strings: any sink that would take one is refused outright.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

/** Served to anyone: the files carry no data (see the module comment). */
const PUBLIC = { access: 'public' } as const;

export interface DashboardOptions {
  /** The built page; DASHBOARD_ROOT unless a test hands in another. */
  readonly root?: string;
}

export function dashboardPlugin(options: DashboardOptions = {}): FastifyPluginAsync {
  const root = options.root ?? DASHBOARD_ROOT;
  return async (scope) => {
    const built = existsSync(join(root, 'index.html'));
    if (!built) scope.log.warn({ root }, 'the dashboard is not built (npm run build builds it); /dashboard answers 404');
    // Swagger UI registers its own copy with decorateReply: false, so this scope's sendFile is ours.
    await scope.register(fastifyStatic, { root, serve: false, decorateReply: true, index: false });
    scope.addHook('onRequest', async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });

    scope.get('/', { config: PUBLIC, schema: { hide: true } }, async (request, reply) => {
      const [path, query] = splitUrl(request.url);
      // Without the slash the page's relative paths would resolve one level up.
      if (!path.endsWith('/')) return reply.redirect(`./${lastSegment(path)}/${query}`, 302);
      if (!built) throw notBuilt();
      return sendPage(reply);
    });

    scope.get<{ Params: { '*': string } }>('/*', { config: PUBLIC, schema: { hide: true } }, async (request, reply) => {
      const file = request.params['*'];
      if (!built) throw notBuilt();
      // Vite names every asset by its content hash: a name never changes what it holds.
      if (file.startsWith('assets/')) return reply.sendFile(file, { maxAge: '365d', immutable: true });
      if (file === '' || file === 'index.html') return sendPage(reply);
      return reply.sendFile(file, { maxAge: '1h', immutable: false });
    });
  };
}

/** index.html names the current assets, so it is revalidated on every load. */
function sendPage(reply: FastifyReply): FastifyReply {
  reply.header('cache-control', 'no-cache');
  return reply.sendFile('index.html', { cacheControl: false });
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function notBuilt(): HqmError {
  return new HqmError('HQM_ERR_ROUTE_NOT_FOUND', 'the dashboard is not built: `npm run build` builds it into dist/dashboard/static');
}

/**
 * Authentication and roles for every route (auth.enabled). One onRequest hook, before any body
 * is read: it finds what the route asks for (`config.access` on the route, else the table
 * below, else `admin` — so a route nobody classified is closed, not open), authenticates the
 * credential and checks the roles. The principal is then `request.principal` for the handlers,
 * which use it to show each tenant only its own requests (`sees`).
 *
 * A 401 carries `WWW-Authenticate: Bearer realm="openhqm"` (RFC 6750), with
 * `error="invalid_token"` when a credential was there but did not pass.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialHeader } from '../auth/authenticator.js';
import { grants, sees, type Access, type Principal } from '../core/access.js';
import { HqmError } from '../core/errors.js';
import type { CapturedRequest } from '../core/request/envelope.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route asks of its caller when auth.enabled; routes without it need admin. */
    access?: Access;
  }
  interface FastifyRequest {
    /** Who is calling; null when authentication is off (or the route is public). */
    principal: Principal | null;
    /** The header that carried the credential, to keep it from an application. */
    credentialHeader: CredentialHeader | null;
  }
}

export interface ApiAuth {
  readonly authenticate: (headers: FastifyRequest['headers']) => Promise<{ principal: Principal; header: CredentialHeader }>;
  /** proxy.capture.require_auth: captured requests need a `submit` credential too. */
  readonly captureRequiresAuth: boolean;
}

/**
 * The access of each route, by its path under the control prefix. Public: only the probes a
 * load balancer or kubelet calls without credentials. Anything not listed (the Swagger UI,
 * /openapi.json, /metrics, the route simulator, routes added later) needs admin.
 */
const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  '/health/live': 'public',
  '/health/ready': 'public',
  '/health': 'authenticated',
  '/api/v1/submit': 'submit',
  '/api/v1/status/:correlation_id': 'read',
  '/api/v1/response/:correlation_id': 'read',
  '/api/v1/response/:correlation_id/body': 'read',
  '/api/v1/requests/:correlation_id/events': 'read',
  // The deployment's counters, every tenant's requests together (D111).
  '/api/v1/stats': 'admin',
};

/** The name of the capture route (sidecar mode). */
const CAPTURE_ROUTE = '/*';

export function registerAuth(app: FastifyInstance, auth: ApiAuth | undefined, options: { prefix: string; capture: boolean }): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('credentialHeader', null);
  if (auth === undefined) return;
  const access = (request: FastifyRequest): Access => {
    const declared = request.routeOptions.config.access;
    if (declared !== undefined) return declared;
    const url = request.routeOptions.url;
    // No route matched: the 404 tells nothing, but only to someone who may ask at all.
    if (url === undefined) return 'authenticated';
    if (options.capture && url === CAPTURE_ROUTE) return auth.captureRequiresAuth ? 'submit' : 'public';
    const path = options.prefix !== '' && url.startsWith(options.prefix) ? url.slice(options.prefix.length) : url;
    return ROUTE_ACCESS[path] ?? 'admin';
  };
  app.addHook('onRequest', async (request) => {
    const needed = access(request);
    if (needed === 'public') return;
    const { principal, header } = await auth.authenticate(request.headers);
    if (!grants(principal, needed)) {
      const why = principal.tenant === null && !principal.roles.has('admin') ? 'the credential names no tenant' : `this endpoint needs the ${needed} role`;
      throw new HqmError('HQM_ERR_FORBIDDEN', why);
    }
    request.principal = principal;
    request.credentialHeader = header;
  });
}

/** The tenant a request submitted now belongs to. */
export function tenantOf(request: FastifyRequest): string | null {
  return request.principal?.tenant ?? null;
}

/** Whether the caller may see a request of `tenant`: else it is told 404, as for an unknown id. */
export function mayView(request: FastifyRequest, record: { readonly tenant: string | null }): boolean {
  return sees(request.principal, record.tenant);
}

/**
 * A captured request without the credential it showed OpenHQM (proxy.capture.require_auth):
 * that key or token is for OpenHQM, not for the application, and is not even stored — unless
 * proxy.forward_headers names the header explicitly. Open capture authenticates nobody, so an
 * Authorization header there is the application's own and travels on.
 */
export function withoutCredential(captured: CapturedRequest, request: FastifyRequest, keep: ReadonlySet<string> = new Set()): CapturedRequest {
  const used = request.credentialHeader;
  if (used === null || keep.has(used)) return captured;
  const headers = Object.fromEntries(Object.entries(captured.headers).filter(([name]) => name.toLowerCase() !== used));
  return { ...captured, headers };
}

/** The RFC 6750 challenge of a 401 or 403. */
export function challenge(reply: FastifyReply, error: HqmError): void {
  if (error.code === 'HQM_ERR_UNAUTHENTICATED') {
    const missing = error.details?.challenge === 'missing';
    reply.header('www-authenticate', missing ? 'Bearer realm="openhqm"' : `Bearer realm="openhqm", error="invalid_token", error_description="${quoted(error.message)}"`);
  } else if (error.code === 'HQM_ERR_FORBIDDEN') {
    reply.header('www-authenticate', 'Bearer realm="openhqm", error="insufficient_scope"');
  }
}

/** A header's quoted-string may not hold a quote or a backslash (and ours hold no secrets). */
function quoted(text: string): string {
  return text.replace(/["\\\r\n]/g, "'");
}

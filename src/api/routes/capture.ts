/**
 * Transparent capture (sidecar ingress): any request outside the control paths is queued as
 * it came — method, path, query, headers and raw body — for the default endpoint, and
 * answered `202 Accepted` with `Location` and `Retry-After` (the asynchronous request-reply
 * pattern). A client that sends `Prefer: wait=N` (RFC 7240) gets the upstream's own answer
 * instead, when the request finishes within N seconds.
 *
 * Registered in its own plugin scope: there every body is read raw, whatever its type.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HqmError } from '../../core/errors.js';
import { rawBody } from '../../core/http.js';
import type { CapturedRequest } from '../../core/request/envelope.js';
import { isoTime } from '../../core/iso-time.js';
import { isTerminal } from '../../core/request/lifecycle.js';
import { capturedTarget } from '../../core/request/target.js';
import { accept, waitForSubmitted } from '../accept.js';
import { newCorrelationId } from '../../core/request/ids.js';
import { tenantOf, withoutCredential } from '../auth.js';
import type { RouteContext } from '../context.js';
import { flatHeaders, forwardingOf } from '../forwarding.js';
import { sendUpstreamAnswer } from '../replay.js';
import { traceparentOf } from '../tracing.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const CONTROL_PATHS = ['/api/v1', '/health', '/metrics', '/docs', '/openapi.json'];

export function registerCaptureRoute(app: FastifyInstance, ctx: RouteContext): void {
  const prefix = ctx.options.capture.controlPrefix;
  // The dashboard is a control path only where it is served: turned off, /dashboard is the application's.
  const control = [...CONTROL_PATHS, ...(ctx.dashboard === undefined ? [] : ['/dashboard'])].map((p) => `${prefix}${p}`);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.route({
    method: METHODS,
    url: '/*',
    exposeHeadRoute: false,
    schema: { hide: true },
    handler: async (request, reply) => {
      // Refused before anything is stored: a target that is not a plain path, or one whose
      // path could leave the endpoint's base path once the upstream reads it.
      const { path, query } = capturedTarget(request.url);
      if (control.some((c) => path === c || path.startsWith(`${c}/`)) || (prefix !== '' && path.startsWith(`${prefix}/`))) {
        throw new HqmError('HQM_ERR_ROUTE_NOT_FOUND', `no endpoint at ${request.method} ${path}`);
      }
      const headers = flatHeaders(request);
      const captured = withoutCredential(capture(request, headers, path, query), request, ctx.options.capture.keepCredentialHeaders);
      const wait = preferredWait(header(request, 'prefer'), ctx.options.maxWaitSeconds);
      const id = newCorrelationId(Date.now());
      // Taken before the record is written, so its completion cannot slip by unseen (waitForSubmitted).
      const ticket = wait > 0 ? ctx.waiters.register(id, wait * 1000) : undefined;
      const record = await accept(ctx, {
        id,
        payload: {},
        headers: {},
        metadata: {},
        request: captured,
        traceparent: traceparentOf(request),
        forwarding: forwardingOf(request, headers, ctx.trust),
        tenant: tenantOf(request),
      }).catch((error: unknown) => {
        ticket?.cancel();
        throw error;
      });
      if (wait > 0) {
        const finished = await waitForSubmitted(ctx, record, ticket, wait * 1000, reply);
        if (finished !== undefined && isTerminal(finished.status)) return sendUpstreamAnswer(reply.header('preference-applied', `wait=${wait}`), finished);
      }
      const location = `${prefix}/api/v1/requests/${record.id}`;
      return reply
        .code(202)
        .header('location', location)
        .header('retry-after', String(ctx.options.capture.retryAfterSeconds))
        .header('x-correlation-id', record.id)
        .send({ correlation_id: record.id, status: record.status, submitted_at: isoTime(record.submittedAt), location });
    },
  });
}

function capture(request: FastifyRequest, headers: Readonly<Record<string, string>>, path: string, query: string): CapturedRequest {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const body = rawBody(raw);
  return { method: request.method, path, query, headers, body: body.data, body_encoding: body.encoding };
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : null;
}

/** `Prefer: respond-async, wait=10` → 10 (capped); 0 when absent or malformed. */
export function preferredWait(prefer: string | null, max: number): number {
  if (prefer === null) return 0;
  for (const token of prefer.split(/[,;]/)) {
    const match = /^\s*wait\s*=\s*"?(\d+(?:\.\d+)?)"?\s*$/i.exec(token);
    if (match?.[1] !== undefined) return Math.min(Number(match[1]), max);
  }
  return 0;
}

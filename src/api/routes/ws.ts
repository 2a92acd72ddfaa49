/**
 * `GET /api/v1/ws`: the WebSocket endpoint (streams/ws-connection.ts has the protocol).
 *
 * A submit over the socket is run through POST /api/v1/submit itself (`inject`, in process,
 * no socket) with the upgrade request's headers: the same credential, so the same role check
 * (`submit`), tenant and per-tenant rate limit, the same schema and range validation, the same
 * Idempotency-Key handling and the same load shedding — one code path, so the two cannot drift.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HqmError, type ErrorCode } from '../../core/errors.js';
import type { RouteContext } from '../context.js';
import { sendError } from '../error-handler.js';
import { WS_DESCRIPTION, wsUpgrade } from '../streams/schemas.js';
import { serveConnection, type SubmitOverSocket } from '../streams/ws-connection.js';

/** Headers of the upgrade that describe the WebSocket handshake or a body, not the client. */
const HANDSHAKE_HEADERS = /^(connection|upgrade|sec-websocket-.*|content-length|content-type|transfer-encoding|accept|idempotency-key)$/i;

export function registerWebSocketRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.route({
    method: 'GET',
    url: '/api/v1/ws',
    // Reading is what most connections do; a submit over the socket is checked for `submit` by the submit route.
    config: { access: 'read' },
    schema: { tags: ['requests'], summary: 'WebSocket: follow many requests and submit over one connection', description: WS_DESCRIPTION, response: wsUpgrade },
    // Refused before the upgrade, as an HTTP answer a client can read.
    preHandler: async (request) => {
      if (request.ws && ctx.streamHub.streams >= ctx.streamHub.capacity) {
        throw new HqmError('HQM_ERR_OVERLOADED', 'too many live streams are open (api.max_streams); try again shortly');
      }
    },
    handler: (_request, reply) => sendError(reply.header('upgrade', 'websocket'), new HqmError('HQM_ERR_UPGRADE_REQUIRED', 'this endpoint speaks WebSocket only: send an Upgrade: websocket request')),
    wsHandler: (socket, request) => serveConnection(ctx, socket, request, submitter(app, ctx, request)),
  });
}

/** POST /api/v1/submit on behalf of the socket's client, answered as a socket message. */
function submitter(app: FastifyInstance, ctx: RouteContext, upgrade: FastifyRequest): SubmitOverSocket {
  const headers = Object.fromEntries(Object.entries(upgrade.headers).filter(([name, value]) => value !== undefined && !HANDSHAKE_HEADERS.test(name))) as Record<string, string | string[]>;
  const url = `${ctx.options.capture.controlPrefix}/api/v1/submit`;
  return async (body, idempotencyKey) => {
    const res = await app.inject({
      method: 'POST',
      url,
      remoteAddress: upgrade.socket.remoteAddress ?? '127.0.0.1',
      headers: { ...headers, 'content-type': 'application/json', ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }) },
      payload: JSON.stringify(body),
    });
    const answer = res.json<Record<string, unknown>>();
    if (res.statusCode < 300) {
      return { type: 'accepted', ...answer, ...(res.headers['idempotent-replayed'] === 'true' ? { replayed: true } : {}) };
    }
    const retryAfter = res.headers['retry-after'];
    const issues = Array.isArray(answer.detail) ? { issues: answer.detail as unknown[] } : {};
    const detail = typeof answer.detail === 'string' ? answer.detail : typeof answer.message === 'string' ? answer.message : '';
    return { type: 'error', code: answer.code as ErrorCode, detail, status: res.statusCode, ...issues, ...(retryAfter === undefined ? {} : { retry_after: Number(retryAfter) }) };
  };
}

/**
 * Webhooks that failed for good (admin): `GET /api/v1/webhook-deliveries?status=failed` lists
 * them newest first with a cursor, `POST /api/v1/webhook-deliveries/{id}/redeliver` queues one
 * again with a fresh set of attempts. Neither route is in the access table, so both need admin:
 * a dead letter may belong to any tenant.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { HqmError, ValidationError } from '../../core/errors.js';
import { isCursor, listFailedDeliveries, redeliver, type WebhookAdminDeps } from '../../webhooks/admin.js';
import type { RouteContext } from '../context.js';
import { errorResponse } from '../schemas.js';

const MAX_LIMIT = 500;

const failedDelivery = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The webhook id (`webhook-id` header), stable across attempts and redeliveries.' },
    correlation_id: { type: 'string' },
    event: { type: 'string', enum: ['request.completed', 'request.failed', 'request.timeout', 'request.cancelled'] },
    url: { type: 'string', description: 'The callback URL without its query.' },
    tenant: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    reason: { type: 'string', description: 'Why the last attempt failed.' },
    dead_lettered_at: { type: 'string', format: 'date-time' },
  },
} as const;

export function registerWebhookDeliveryRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const webhooks = ctx.options.webhooks;
  if (webhooks === undefined) return;
  const deps: WebhookAdminDeps = { queue: ctx.queue, store: ctx.store, queueName: webhooks.queueName, scanLimit: webhooks.scanLimit };

  app.get<{ Querystring: { status?: string; limit?: string; cursor?: string } }>(
    '/api/v1/webhook-deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook deliveries that failed for good (admin)',
        description: 'The webhook queue\'s dead letters, newest first. `status=failed` is the only status listed; `limit` (1–500, default 50) and the `next_cursor` of the previous page page through them.',
        querystring: {
          type: 'object',
          properties: { status: { type: 'string', enum: ['failed'] }, limit: { type: 'string', pattern: '^[0-9]{1,4}$' }, cursor: { type: 'string', maxLength: 512 } },
        },
        response: {
          200: { type: 'object', properties: { deliveries: { type: 'array', items: failedDelivery }, next_cursor: { type: ['string', 'null'] } } },
          422: errorResponse,
        },
      },
    },
    async (request) => {
      const { limit: rawLimit, cursor } = request.query;
      const limit = rawLimit === undefined ? 50 : Number(rawLimit);
      if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new ValidationError([{ path: 'query.limit', message: `must be from 1 to ${MAX_LIMIT}` }]);
      if (cursor !== undefined && !isCursor(cursor)) throw new ValidationError([{ path: 'query.cursor', message: 'is not a cursor this endpoint gave out' }]);
      return listFailedDeliveries(deps, { limit, ...(cursor === undefined ? {} : { cursor }) });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/webhook-deliveries/:id/redeliver',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Queue a failed webhook again (admin)',
        description: 'Queues the newest dead letter of this webhook id again, with a fresh set of attempts and the same id and body. 202; 404 when no failed delivery has that id.',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
        response: {
          202: { type: 'object', properties: { id: { type: 'string' }, correlation_id: { type: 'string' }, event: { type: 'string' }, status: { type: 'string', enum: ['queued'] } } },
          404: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const message = await redeliver(deps, request.params.id);
      if (message === undefined) throw new HqmError('HQM_ERR_NOT_FOUND', 'no failed webhook delivery with that id');
      return reply.code(202).send({ id: message.webhook_id, correlation_id: message.correlation_id, event: message.event, status: 'queued' });
    },
  );
}

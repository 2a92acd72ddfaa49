/** `POST /api/v1/routes/test`: the route simulator, for an admin UI. */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';
import { errorResponse } from '../schemas.js';

export function registerRoutesTestRoute(app: FastifyInstance, ctx: RouteContext): void {
  const simulate = ctx.options.simulateRoutes;
  if (simulate === undefined) return;
  app.post<{ Body: { routes?: unknown; message: unknown } }>(
    '/api/v1/routes/test',
    {
      schema: {
        tags: ['routing'],
        summary: 'Route a message without sending it',
        description: 'Routes `message` (a queue envelope) with `routes` (a routes file as JSON) or, without it, the routes in force; answers the routing result `{route_name, endpoint, method, payload, headers, query_params, timeout, max_retries}`, or 422 with `error`.',
        body: { type: 'object', required: ['message'], properties: { routes: { type: 'object' }, message: { type: 'object' } } },
        response: { 422: { ...errorResponse, properties: { ...errorResponse.properties, error: { type: 'string' } } } },
      },
    },
    async (request, reply) => {
      const outcome = await simulate({ routes: request.body.routes, message: request.body.message });
      if (!outcome.ok) {
        return reply.code(422).send({ error: outcome.error, detail: outcome.error, code: outcome.code });
      }
      if (outcome.warnings.length > 0) reply.header('x-openhqm-warnings', String(outcome.warnings.length));
      return { ...outcome.result, warnings: outcome.warnings };
    },
  );
}

/**
 * `GET /api/v1/requests`: find requests, newest first, filtered by status, queue, tenant and
 * submission time, a page at a time (an opaque cursor). Answered by the store from an index
 * (ResultStore.list), with the caller's tenant part of the read, so paging never skips or
 * repeats a record and another tenant's requests are never even read.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { encodeCursor } from '../../core/request/list.js';
import type { RouteContext } from '../context.js';
import { parseListQuery, type ListParams } from '../list-query.js';
import { settleOverdue } from '../overdue.js';
import { presentStatus } from '../present.js';
import { errorResponse, listQuery, listResponse } from '../schemas.js';

export function registerListRoute(app: FastifyInstance, ctx: RouteContext): void {
  const queues = new Set(ctx.options.queues.keys());
  app.get<{ Querystring: ListParams }>(
    '/api/v1/requests',
    {
      config: { access: 'read' },
      schema: {
        tags: ['requests'],
        summary: 'Find requests',
        description:
          'Newest first (by submitted_at, then id), at most `limit` (default 50, at most 1000) per page. Pass `next_cursor` as `cursor` for the next page; null means there is no more. ' +
          'Records submitted meanwhile are newer than any cursor, so paging neither skips nor repeats. A page can hold fewer than `limit` items and still have a `next_cursor`. ' +
          'A caller that is not an admin sees its own tenant\'s requests only; an admin sees all and may filter by `tenant`.',
        querystring: listQuery,
        response: { 200: listResponse, 403: errorResponse, 422: errorResponse },
      },
    },
    async (request) => {
      const query = parseListQuery(request.query, request.principal, queues);
      const page = await ctx.store.list(query);
      // An overdue PENDING request is shown as what reading it by id makes it: TIMEOUT.
      const records = await Promise.all(page.records.map((record) => settleOverdue(ctx, record)));
      return {
        requests: records.filter((r) => query.status === undefined || r.status === query.status).map(presentStatus),
        next_cursor: page.next === null ? null : encodeCursor(page.next),
      };
    },
  );
}

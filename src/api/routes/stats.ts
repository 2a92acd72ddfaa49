/**
 * `GET /api/v1/stats?since=&until=&queue=`: the hourly analytics — per hour, the requests
 * submitted, completed, failed, timed out, cancelled and dead-lettered, and the p50/p95/p99 of
 * queue wait and processing time — read from the counters the recorder keeps in the result
 * store (never from the request records). Admin only: the counters are the deployment's, not a
 * tenant's (D111).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { HOUR_MS, hourOf, summarize, summarizeTotal, type Distribution, type HourSummary } from '../../core/analytics/hourly.js';
import { ValidationError, type FieldIssue } from '../../core/errors.js';
import type { RouteContext } from '../context.js';
import { errorResponse } from '../schemas.js';

/** Most hours one answer covers (31 days): a longer range is asked for in pieces. */
export const MAX_STATS_HOURS = 744;
const DEFAULT_HOURS = 24;
const DEFAULT_RETENTION_MS = 30 * 24 * HOUR_MS;

interface StatsQuery {
  since?: string;
  until?: string;
  queue?: string;
}

const distribution = {
  type: 'object',
  description: 'Milliseconds, estimated from fixed histogram buckets (within one bucket: at most 1.67× apart); null without samples.',
  properties: {
    count: { type: 'integer' },
    mean: { type: ['number', 'null'] },
    p50: { type: ['number', 'null'] },
    p95: { type: ['number', 'null'] },
    p99: { type: ['number', 'null'] },
  },
} as const;

const counts = {
  submitted: { type: 'integer' },
  completed: { type: 'integer' },
  failed: { type: 'integer' },
  timed_out: { type: 'integer' },
  cancelled: { type: 'integer' },
  dead_lettered: { type: 'integer' },
  queue_wait_ms: { ...distribution, description: `Submission to a worker's first claim. ${distribution.description}` },
  processing_time_ms: { ...distribution, description: `The attempt that ended the request (completed, failed, timed out while running). ${distribution.description}` },
} as const;

const statsResponse = {
  type: 'object',
  properties: {
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    queue: { type: ['string', 'null'] },
    total: { type: 'object', properties: counts },
    hours: { type: 'array', items: { type: 'object', properties: { hour: { type: 'string', format: 'date-time' }, ...counts } } },
  },
} as const;

export function registerStatsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: StatsQuery }>(
    '/api/v1/stats',
    {
      schema: {
        tags: ['requests'],
        summary: 'Hourly analytics (admin)',
        description:
          'Per UTC hour of [since, until): requests submitted, completed, failed, timed out, cancelled and dead-lettered, with p50/p95/p99 of queue wait and processing time, for one queue or all. `until` defaults to now and `since` to 24 whole hours before the end of the hour `until` falls in; both are widened to whole hours, at most 744 hours apart, and nothing older than analytics.retention_days is kept. Every hour of the range is listed, empty ones as zeros.',
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'string', maxLength: 64, description: 'ISO 8601 time, inclusive (its hour counts whole).' },
            until: { type: 'string', maxLength: 64, description: 'ISO 8601 time, exclusive (the hour it falls in counts whole).' },
            queue: { type: 'string', minLength: 1, maxLength: 200, description: 'Only this queue (a metadata.queue name); every queue when absent.' },
          },
          additionalProperties: false,
        },
        response: { 200: statsResponse, 422: errorResponse },
      },
    },
    async (request) => {
      const now = Date.now();
      const range = parseRange(request.query, now, ctx.options.analyticsRetentionMs ?? DEFAULT_RETENTION_MS);
      const queue = request.query.queue ?? null;
      const rows = range.since < range.until ? await ctx.store.analytics.read({ since: range.since, until: range.until, queue }) : [];
      return {
        since: new Date(range.since).toISOString(),
        until: new Date(range.until).toISOString(),
        queue,
        total: present(summarizeTotal(rows, range.since, range.until)),
        hours: summarize(rows, range.since, range.until).map((hour) => ({ hour: new Date(hour.hour).toISOString(), ...present(hour) })),
      };
    },
  );
}

/**
 * The hours asked for, widened to whole hours; then narrowed to what can exist: nothing before
 * the retention, nothing after the current hour (so the answer never lists hours to come).
 */
function parseRange(query: StatsQuery, now: number, retentionMs: number): { since: number; until: number } {
  const issues: FieldIssue[] = [];
  const until = parseTime(query.until, 'query.until', issues) ?? now;
  const since = parseTime(query.since, 'query.since', issues);
  if (issues.length > 0) throw new ValidationError(issues);
  const end = Math.ceil(until / HOUR_MS) * HOUR_MS;
  // By default the 24 whole hours up to `until`, the hour it falls in included.
  const first = since === undefined ? end - DEFAULT_HOURS * HOUR_MS : hourOf(since);
  if (first >= end) throw new ValidationError([{ path: 'query.since', message: 'must be before until' }]);
  if (end - first > MAX_STATS_HOURS * HOUR_MS) {
    throw new ValidationError([{ path: 'query.since', message: `the range may cover at most ${MAX_STATS_HOURS} hours (31 days); ask for longer ones in pieces` }]);
  }
  // An hour is kept until `retentionMs` after it ended.
  const oldest = hourOf(now - retentionMs);
  const last = Math.min(end, hourOf(now) + HOUR_MS);
  // A range wholly past the retention (or to come) is empty: since = until, no hours.
  return { since: Math.min(Math.max(first, oldest), last), until: last };
}

/** ISO 8601 with a date and (optionally) a time and zone; Date.parse alone takes too much ("1", "March 7"). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const HAS_ZONE = /(Z|[+-]\d{2}:\d{2})$/;

function parseTime(raw: string | undefined, path: string, issues: FieldIssue[]): number | undefined {
  if (raw === undefined) return undefined;
  // A time without a zone is UTC, as the hours are (Date.parse would read it as the server's local time).
  const text = raw.includes('T') && !HAS_ZONE.test(raw) ? `${raw}Z` : raw;
  const at = ISO_TIME.test(raw) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) {
    issues.push({ path, message: 'must be an ISO 8601 time, e.g. 2030-01-02T10:00:00Z' });
    return undefined;
  }
  return at;
}

function present(summary: HourSummary): Record<string, number | Distribution> {
  return {
    submitted: summary.submitted,
    completed: summary.completed,
    failed: summary.failed,
    timed_out: summary.timed_out,
    cancelled: summary.cancelled,
    dead_lettered: summary.dead_lettered,
    queue_wait_ms: summary.wait,
    processing_time_ms: summary.processing,
  };
}

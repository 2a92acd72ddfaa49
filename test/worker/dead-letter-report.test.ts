/**
 * Every dead-lettering is marked by the counter openhqm_queue_dlq_total{queue_name, reason} and
 * by one log line at level error (the plan's "alert admin"), whatever the reason.
 */
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { HqmEvents } from '../../src/core/events.js';
import { encodeEnvelope, normalizeMetadata } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { Logger } from '../../src/ports/logger.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { QUEUE } from '../helpers/api.js';
import { waitFor } from '../helpers/wait.js';

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string | undefined;
}

function capturing(lines: Line[]): Logger {
  const logger: Logger = {
    debug: (fields, message) => lines.push({ level: 'debug', fields: fields as Record<string, unknown>, message }),
    info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    error: (fields, message) => lines.push({ level: 'error', fields: fields as Record<string, unknown>, message }),
    child: () => logger,
  };
  return logger;
}

describe('dead-lettering is reported', () => {
  it('counts each by queue and reason and logs it at level error with its correlation id and error', async () => {
    const queue = new MemoryQueue(capturing([]));
    const store = new MemoryResultStore();
    const events = new HqmEvents();
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.observe(events, 'w');
    const lines: Line[] = [];
    const pool = new WorkerPool(
      { queue, store, events, logger: capturing(lines), processor: async () => Promise.reject(new Error('upstream said no')) },
      { queueName: QUEUE, concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1000, workerId: 'w', retry: { maxAttempts: 2, baseMs: 1, maxMs: 1 }, defaultTimeoutSeconds: 60, ttlMs: 60_000 },
    );
    try {
      const id = newCorrelationId(Date.now());
      await store.create({ id, queue: 'default', priority: 0, submittedAt: Date.now(), deadlineAt: null, ttlMs: 60_000 });
      const envelope = { v: 1, correlation_id: id, timestamp: new Date().toISOString(), payload: {}, headers: {}, metadata: normalizeMetadata({}, { timeout: 60 }), request: null, traceparent: null } as const;
      await queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
      await queue.publish(QUEUE, { body: 'not json' });
      pool.start();
      await waitFor(async () => (await queue.stats(QUEUE)).deadLettered === 2, { what: 'both messages dead-lettered' });
      const marked = lines.filter((line) => line.level === 'error' && line.message?.startsWith('request dead-lettered'));
      expect(marked.map((line) => line.fields)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ correlation_id: id, queue: QUEUE, reason: 'processing_failed', attempts: 2, error: 'upstream said no' }),
          expect.objectContaining({ correlation_id: null, queue: QUEUE, reason: 'invalid_message' }),
        ]),
      );
      expect(marked).toHaveLength(2);
      const exposition = await metrics.registry.metrics();
      expect(exposition).toContain(`openhqm_queue_dlq_total{queue_name="${QUEUE}",reason="processing_failed"} 1`);
      expect(exposition).toContain(`openhqm_queue_dlq_total{queue_name="${QUEUE}",reason="invalid_message"} 1`);
    } finally {
      await pool.stop();
      await queue.close();
      await store.close();
    }
  });
});

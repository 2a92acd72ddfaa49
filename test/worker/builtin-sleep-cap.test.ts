/** The built-in `sleep` is a demo: it cannot hold a worker slot for long. */
import { describe, expect, it } from 'vitest';
import { apiOptions as fromConfig } from '../../src/app/options.js';
import { configSchema } from '../../src/config/schema.js';
import { builtinOperations, builtinProcessor } from '../../src/worker/processors/builtin.js';
import { silentLogger } from '../../src/ports/logger.js';
import { testApi } from '../helpers/api.js';
import { gateway } from '../helpers/gateway.js';

const request = (payload: Record<string, unknown>) => ({
  v: 1 as const,
  correlation_id: 'id',
  timestamp: '',
  payload,
  headers: {},
  metadata: { priority: 0, timeout: 1, retry_count: 0, endpoint: null, method: null, queue: 'default', partition_key: null, callback_url: null },
  request: null,
  traceparent: null,
});
const ctx = { attempt: 1, maxAttempts: 1, idempotencyKey: 'id', signal: new AbortController().signal, deadline: null, tenant: null, traceparent: null, logger: silentLogger, progress: async () => undefined };

describe('built-in sleep cap', () => {
  it('by default refuses more than 60 s at once, as a permanent validation failure', async () => {
    await expect(builtinProcessor(request({ operation: 'sleep', seconds: 3600 }), ctx)).rejects.toMatchObject({ code: 'HQM_ERR_VALIDATION', retryable: false, message: expect.stringMatching(/worker\.builtin_sleep_max_seconds/) });
    await expect(builtinProcessor(request({ operation: 'sleep', seconds: 0.01 }), ctx)).resolves.toMatchObject({ output: 'slept 0.01s' });
  });

  it('a queued sleep over the configured cap ends FAILED with HQM_ERR_VALIDATION, without holding the slot', async () => {
    const g = await gateway({ processor: builtinOperations({ sleepMaxSeconds: 2 }) });
    const id = await g.submit({ operation: 'sleep', seconds: 3 });
    const record = await g.finished(id);
    expect(record.status).toBe('FAILED');
    expect(record.outcome).toMatchObject({ errorCode: 'HQM_ERR_VALIDATION', error: expect.stringMatching(/at most 2 s/) });
  });

  it('the API refuses it at submit with a 422 naming the field when the workers run the built-ins', async () => {
    const { app, queue } = await testApi({ builtinSleepMaxSeconds: 60 });
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'sleep', seconds: 3600 } } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_VALIDATION', detail: [{ loc: ['body', 'payload', 'seconds'] }] });
    expect((await queue.stats('openhqm-requests')).depth).toBe(0);
    const ok = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'sleep', seconds: 60 } } });
    expect(ok.statusCode).toBe(202);
  });

  it('the API knows the cap only when the built-ins run: not with the proxy or a processor module', () => {
    expect(fromConfig(configSchema.parse({}), {}).builtinSleepMaxSeconds).toBe(60);
    expect(fromConfig(configSchema.parse({ worker: { builtin_sleep_max_seconds: 5 } }), {}).builtinSleepMaxSeconds).toBe(5);
    expect(fromConfig(configSchema.parse({ worker: { processor_module: './p.mjs' } }), {}).builtinSleepMaxSeconds).toBeUndefined();
  });
});

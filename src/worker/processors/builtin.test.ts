import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../ports/logger.js';
import { isRetryable, type ProcessorContext } from '../processor.js';
import { builtinProcessor } from './builtin.js';

const ctx = (signal = new AbortController().signal): ProcessorContext => ({
  attempt: 1,
  maxAttempts: 1,
  idempotencyKey: 'id',
  signal,
  deadline: null,
  logger: silentLogger,
  tenant: null,
  traceparent: null,
  progress: async () => undefined,
});

const run = (payload: Record<string, unknown>, signal?: AbortSignal) =>
  builtinProcessor(
    { v: 1, correlation_id: 'id', timestamp: '', payload, headers: {}, metadata: normalize(), request: null, traceparent: null },
    ctx(signal),
  ) as Promise<{ output: unknown; processed_at: string }>;

function normalize() {
  return { priority: 0, timeout: 1, retry_count: 0, endpoint: null, method: null, queue: 'default', partition_key: null, callback_url: null };
}

describe('built-in operations', () => {
  it('echo returns data unchanged, with a processed_at timestamp', async () => {
    const result = await run({ operation: 'echo', data: { nested: ['x', 1] } });
    expect(result.output).toEqual({ nested: ['x', 1] });
    expect(Date.parse(result.processed_at)).not.toBeNaN();
  });

  it('uppercase and reverse work on text, reverse on code points', async () => {
    expect((await run({ operation: 'uppercase', data: 'hello wörld' })).output).toBe('HELLO WÖRLD');
    expect((await run({ operation: 'reverse', data: 'ab😀c' })).output).toBe('c😀ba');
    expect((await run({ operation: 'uppercase', data: { a: 'b' } })).output).toBe('{"A":"B"}');
  });

  it('error fails permanently with "Test error", or retryably when asked', async () => {
    const permanent = await run({ operation: 'error' }).catch((e: unknown) => e);
    expect((permanent as Error).message).toBe('Test error');
    expect(isRetryable(permanent)).toBe(false);
    const retryable = await run({ operation: 'error', retryable: true }).catch((e: unknown) => e);
    expect(isRetryable(retryable)).toBe(true);
  });

  it('answers an unknown operation the way the original does', async () => {
    expect((await run({ operation: 'frobnicate' })).output).toBe('Unknown operation: frobnicate');
    expect((await run({})).output).toBe('Unknown operation: unknown');
  });

  it('sleep stops when its signal aborts', async () => {
    const controller = new AbortController();
    const pending = run({ operation: 'sleep', seconds: 60 }, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

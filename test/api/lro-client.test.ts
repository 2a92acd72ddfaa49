/**
 * A generic LRO client that follows only HTTP semantics (Microsoft's @azure/core-lro, in its
 * "ResourceLocation" mode: 202 + Location + Retry-After, then the status code of the resource
 * Location names) must tell a failed or cancelled request from a completed one.
 */
import { createHttpPoller, type OperationResponse, type OperationState, type RawResponse } from '@azure/core-lro';
import { describe, expect, it } from 'vitest';
import { gateway, type Gateway } from '../helpers/gateway.js';
import { deferred } from '../helpers/wait.js';

async function call(base: string, method: string, path: string, body?: unknown): Promise<OperationResponse<unknown>> {
  const url = new URL(path, base).toString();
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const rawResponse: RawResponse = { statusCode: res.status, request: { method, url }, headers: Object.fromEntries(res.headers), body: await res.json() };
  return { flatResponse: rawResponse.body, rawResponse };
}

async function listening(g: Gateway): Promise<string> {
  return g.app.listen({ port: 0, host: '127.0.0.1' });
}

function poller(base: string, payload: Record<string, unknown>, onStarted?: (id: string) => void) {
  return createHttpPoller<unknown, OperationState<unknown>>(
    {
      sendInitialRequest: async () => {
        const initial = await call(base, 'POST', '/api/v1/submit', { payload });
        onStarted?.((initial.flatResponse as { correlation_id: string }).correlation_id);
        return initial;
      },
      sendPollRequest: (path) => call(base, 'GET', path),
    },
    // Polling as often as Retry-After (1 s) says; resolving on failure lets the test read the state.
    { resolveOnUnsuccessful: true },
  );
}

describe('@azure/core-lro polling the Location of a submit', () => {
  it('reads a completed echo as succeeded, with its result', async () => {
    const g = await gateway();
    const base = await listening(g);
    const lro = poller(base, { operation: 'echo', data: 'hi' });
    const result = await lro.pollUntilDone();
    expect(lro.operationState?.status).toBe('succeeded');
    expect(result).toMatchObject({ status: 'COMPLETED', result: expect.anything() });
  });

  it('reads a failed request (operation error) as failed, not succeeded', async () => {
    const g = await gateway({ worker: { retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 } } });
    const base = await listening(g);
    const lro = poller(base, { operation: 'error' });
    await lro.pollUntilDone();
    expect(lro.operationState?.status).toBe('failed');
  });

  it('reads a cancelled request as not succeeded', async () => {
    const started = deferred<string>();
    const g = await gateway({ processor: (_envelope, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))) });
    const base = await listening(g);
    const lro = poller(base, {}, (id) => started.resolve(id));
    const done = lro.pollUntilDone();
    const cancelled = await fetch(`${base}/api/v1/requests/${await started.promise}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    await done;
    expect(lro.operationState?.status).toBe('failed');
  });
});

/**
 * The client against a real OpenHQM (API and worker in process, as `openhqm start` runs them)
 * on SQLite and on Redis: every call round-trips, and every error carries the server's code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../../../test/helpers/redis.js';
import { tempDir } from '../../../test/helpers/temp.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { OpenHqmClient, verifyWebhook, WebhookVerificationError, type Credential, type FetchLike, type StreamEvent } from '../src/index.js';
import { ACME_KEY, collect, OTHER_KEY, recordingFetch, rejection, startServer, WEBHOOK_SECRET, webhookReceiver, type FetchCall, type TestServer } from './server.js';


type Backend = { readonly config: Record<string, unknown> } | { readonly skip: string };

function roundTrips(name: string, backend: () => Promise<Backend>): void {
  describe(`the client against OpenHQM on ${name}`, () => {
    let server: TestServer | undefined;
    let skip: string | undefined;
    beforeAll(async () => {
      const chosen = await backend();
      if ('skip' in chosen) skip = chosen.skip;
      else server = await startServer(chosen.config);
    });
    /** A client of tenant acme by default; `null`: one without a credential. */
    const client = (credential: Credential | null = { apiKey: ACME_KEY }, fetch?: FetchLike) => new OpenHqmClient({ baseUrl: server!.url, credential: credential ?? undefined, fetch });
    const test = (title: string, body: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (skip !== undefined) return ctx.skip(skip);
        await body();
      });

    test('submit, then waitFor (Server-Sent Events), status and result agree on the result', async () => {
      const hqm = client();
      const submitted = await hqm.submit({ payload: { operation: 'uppercase', data: 'hello' } });
      expect(submitted).toMatchObject({ status: 'PENDING', replayed: false });
      expect(Date.parse(submitted.submitted_at!)).not.toBeNaN();
      const id = submitted.correlation_id;
      const done = await hqm.waitFor(id);
      expect(done).toMatchObject({ correlation_id: id, status: 'COMPLETED', result: { output: 'HELLO' }, error: null, error_code: null });
      expect(await hqm.status(id)).toMatchObject({ correlation_id: id, status: 'COMPLETED', progress: null, run_at: null });
      expect(await hqm.result(id)).toEqual(done);
    });

    test('submit with wait answers with the result in the same call', async () => {
      const submitted = await client().submit({ payload: { operation: 'reverse', data: 'stressed' } }, { wait: 10 });
      expect(submitted).toMatchObject({ status: 'COMPLETED', replayed: false, result: { correlation_id: submitted.correlation_id, result: { output: 'desserts' } } });
    });

    test('an Idempotency-Key makes a repeat answer the first request; another body with it is HQM_ERR_IDEMPOTENCY_KEY_REUSED', async () => {
      const hqm = client();
      const key = `order-${randomUUID()}`;
      const request = { payload: { operation: 'echo', data: key } };
      const first = await hqm.submit(request, { idempotencyKey: key });
      const again = await hqm.submit(request, { idempotencyKey: key });
      expect(first.replayed).toBe(false);
      expect(again).toMatchObject({ correlation_id: first.correlation_id, replayed: true });
      const error = await rejection(hqm.submit({ payload: { operation: 'echo', data: 'another' } }, { idempotencyKey: key }));
      expect(error).toMatchObject({ status: 422, code: 'HQM_ERR_IDEMPOTENCY_KEY_REUSED' });
    });

    test('submitBatch lists the requests in order; waitFor by long-poll only asks /response', async () => {
      const calls: FetchCall[] = [];
      const hqm = client({ apiKey: ACME_KEY }, recordingFetch(calls));
      const batch = await hqm.submitBatch([{ payload: { operation: 'reverse', data: 'abc' } }, { payload: { operation: 'uppercase', data: 'x' } }], { idempotencyKey: randomUUID() });
      expect(batch.replayed).toBe(false);
      expect(batch.requests.map((r) => r.location)).toEqual(batch.requests.map((r) => `/api/v1/requests/${r.correlation_id}`));
      const results = await Promise.all(batch.requests.map((r) => hqm.waitFor(r.correlation_id, { via: 'poll' })));
      expect(results.map((r) => [r.status, r.result])).toEqual([
        ['COMPLETED', { output: 'cba', processed_at: expect.any(String) }],
        ['COMPLETED', { output: 'X', processed_at: expect.any(String) }],
      ]);
      expect(calls.slice(1).every((c) => /\/api\/v1\/response\/[^/]+\?wait=30$/.test(c.url))).toBe(true);
      expect(calls[0]).toMatchObject({ method: 'POST', headers: { 'x-api-key': ACME_KEY, 'content-type': 'application/json' } });
    });

    test('stream yields the trail then the result, resumes after lastEventId without repeats, and has nothing after the result', async () => {
      const hqm = client();
      const { correlation_id: id } = await hqm.submit({ payload: { operation: 'uppercase', data: 'streamed' } });
      const events = await collect(hqm.stream(id));
      const statuses = events.filter((e): e is Extract<StreamEvent, { type: 'status' | 'note' }> => e.type === 'status');
      expect(statuses.map((e) => [e.id, e.data.seq, e.data.from, e.data.to])).toEqual([
        ['1', 1, null, 'PENDING'],
        ['2', 2, 'PENDING', 'PROCESSING'],
        ['3', 3, 'PROCESSING', 'COMPLETED'],
      ]);
      expect(events.at(-1)).toMatchObject({ type: 'result', id: 'result', data: { correlation_id: id, status: 'COMPLETED', result: { output: 'STREAMED' } } });
      const resumed = await collect(hqm.stream(id, { lastEventId: '2' }));
      expect(resumed.map((e) => [e.type, 'id' in e ? e.id : undefined])).toEqual([
        ['status', '3'],
        ['result', 'result'],
      ]);
      expect(await collect(hqm.stream(id, { lastEventId: 'result' }))).toEqual([]);
    });

    test('cancel: a running request is CANCELLED at once; cancelling again is HQM_ERR_ALREADY_FINISHED with its status', async () => {
      const hqm = client();
      const { correlation_id: id } = await hqm.submit({ payload: { operation: 'sleep', seconds: 30 } });
      expect(await hqm.cancel(id)).toMatchObject({ correlation_id: id, status: 'CANCELLED', error_code: 'HQM_ERR_CANCELLED' });
      const error = await rejection(hqm.cancel(id));
      expect(error).toMatchObject({ status: 409, code: 'HQM_ERR_ALREADY_FINISHED', body: { status: 'CANCELLED' } });
      expect(await hqm.waitFor(id)).toMatchObject({ status: 'CANCELLED', error_code: 'HQM_ERR_CANCELLED' });
    });

    test('errors carry the server’s code: an unknown id, a bad body, a missing or wrong credential, another tenant’s request', async () => {
      const hqm = client();
      const unknown = randomUUID();
      for (const call of [() => hqm.status(unknown), () => hqm.result(unknown, { wait: 1 }), () => hqm.cancel(unknown), () => hqm.waitFor(unknown), () => collect(hqm.stream(unknown))]) {
        expect(await rejection(call())).toMatchObject({ status: 404, code: 'HQM_ERR_NOT_FOUND', detail: 'Request not found or expired' });
      }
      const invalid = await rejection(hqm.submit({ payload: 'not an object' as unknown as Record<string, unknown>, metadata: { priority: 42 } }));
      expect(invalid).toMatchObject({ status: 422, code: 'HQM_ERR_VALIDATION' });
      expect((invalid.detail as Array<{ loc: string[] }>).map((d) => d.loc.join('.'))).toEqual(expect.arrayContaining(['body.payload', 'body.metadata.priority']));
      expect(await rejection(client(null).status(unknown))).toMatchObject({ status: 401, code: 'HQM_ERR_UNAUTHENTICATED' });
      expect(await rejection(client({ bearer: 'hqm_not_a_key_of_this_server' }).status(unknown))).toMatchObject({ status: 401, code: 'HQM_ERR_UNAUTHENTICATED' });
      // A Bearer credential (given by a function, as a refreshed JWT would be) sees acme's request; tenant other does not.
      const { correlation_id: id } = await hqm.submit({ payload: { operation: 'echo', data: 1 } });
      expect(await client({ bearer: async () => ACME_KEY }).status(id)).toMatchObject({ correlation_id: id });
      const other = client({ apiKey: OTHER_KEY });
      for (const call of [() => other.status(id), () => other.waitFor(id), () => other.cancel(id)]) expect(await rejection(call())).toMatchObject({ status: 404, code: 'HQM_ERR_NOT_FOUND' });
    });

    test('a stream cut mid-way is reopened with Last-Event-ID and goes on without repeats', async () => {
      const calls: FetchCall[] = [];
      // The first stream is cut after its first event, as a proxy's idle timeout would.
      const cutting: FetchLike = async (url, init) => {
        const response = await recordingFetch(calls)(url, init);
        if (calls.filter((c) => c.url.endsWith('/events')).length !== 1 || response.body === null) return response;
        return new Response(firstEventOnly(response.body), { status: response.status, headers: response.headers });
      };
      const hqm = client({ apiKey: ACME_KEY }, cutting);
      const { correlation_id: id } = await hqm.submit({ payload: { operation: 'uppercase', data: 'cut' } }, { wait: 10 });
      const events = await collect(hqm.stream(id));
      expect(events.map((e) => [e.type, 'id' in e ? e.id : undefined])).toEqual([
        ['status', '1'],
        ['status', '2'],
        ['status', '3'],
        ['result', 'result'],
      ]);
      const opened = calls.filter((c) => c.url.endsWith('/events'));
      expect(opened.map((c) => c.headers['last-event-id'])).toEqual([undefined, '1']);
    });

    test('a webhook OpenHQM sends verifies with verifyWebhook, and not with another secret', async () => {
      const receiver = await webhookReceiver();
      const { correlation_id: id } = await client().submit({ payload: { operation: 'echo', data: 'hooked' }, metadata: { callback_url: receiver.url } });
      const call = await waitFor(() => receiver.calls[0], { timeoutMs: 20_000, what: 'the webhook' });
      const event = await verifyWebhook(call.body, call.headers, WEBHOOK_SECRET);
      expect(event).toMatchObject({ event: 'request.completed', correlation_id: id, status: 'COMPLETED', result: { output: 'hooked' } });
      const forged = await verifyWebhook(call.body, call.headers, `whsec_${randomBytes(32).toString('base64')}`).then(() => undefined, (e: unknown) => e);
      expect(forged).toBeInstanceOf(WebhookVerificationError);
    });
  });
}

/** A body that passes the stream through up to the end of its first event, then ends. */
function firstEventOnly(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let text = '';
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      text += new TextDecoder().decode(value);
      const end = text.indexOf('\n\n', text.indexOf('event: status'));
      if (text.includes('event: status') && end !== -1) {
        controller.enqueue(new TextEncoder().encode(text.slice(0, end + 2)));
        controller.close();
        await reader.cancel();
        return;
      }
    },
  });
}

const dir = tempDir('openhqm-client-');
roundTrips('SQLite', async () => ({ config: { queue: { type: 'sqlite' }, cache: { type: 'sqlite' }, sqlite: { path: join(dir, 'client.db') } } }));

const prefix = testPrefix();
afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));
roundTrips('Redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return { config: { queue: { type: 'redis', redis_url: REDIS_URL }, cache: { type: 'redis', redis_url: REDIS_URL }, redis: { key_prefix: prefix } } };
});

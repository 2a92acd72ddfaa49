/**
 * Webhooks end to end in one process, on the in-memory backends with the real undici sender: a
 * receiver verifying with the `standardwebhooks` package sees each terminal state once, signed
 * with every active key, retried after 500 and 429 (Retry-After honoured) under one stable id;
 * failed deliveries are listed and redelivered; the SSRF guard refuses internal addresses at
 * submit (literals) and at connect time (names resolved to them).
 */
import type { LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../src/adapters/http/undici/webhook-sender.js';
import { presentResult } from '../../src/api/present.js';
import { isHqmError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { WebhookSender } from '../../src/ports/webhook-sender.js';
import type { TerminalSeen } from '../../src/worker/attempt.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { mayConnect, type AddressPolicy } from '../../src/webhooks/address-policy.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { WebhookEnqueuer } from '../../src/webhooks/enqueue.js';
import { WebhookSigner } from '../../src/webhooks/sign.js';
import { gateway, type Gateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { newSecret, WebhookReceiver } from '../helpers/webhook-receiver.js';

const WEBHOOK_QUEUE = 'openhqm-requests.webhooks';
const OPEN: AddressPolicy = { allowPrivate: true, allowedHosts: [] };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Setup {
  readonly g: Gateway;
  readonly receiver: WebhookReceiver;
  readonly enqueuer: WebhookEnqueuer;
  readonly deliverer: WebhookDeliverer;
}

async function setup(options: { secrets?: string[]; defaultUrl?: string | null; maxAttempts?: number; policy?: AddressPolicy; submitPolicy?: AddressPolicy; visibilityTimeoutMs?: number } = {}): Promise<Setup> {
  const secrets = options.secrets ?? [newSecret()];
  const receiver = await new WebhookReceiver(secrets).start();
  let hook: (seen: TerminalSeen) => Promise<void> = async () => undefined;
  const g = await gateway({
    worker: { onTerminal: (seen) => hook(seen), ...(options.visibilityTimeoutMs === undefined ? {} : { visibilityTimeoutMs: options.visibilityTimeoutMs }) },
    api: { webhooks: { enabled: true, policy: options.submitPolicy ?? OPEN, queueName: WEBHOOK_QUEUE, scanLimit: 1000 } },
  });
  const enqueuer = new WebhookEnqueuer({ queue: g.queue, store: g.store, present: presentResult, logger: silentLogger }, { queueName: WEBHOOK_QUEUE, defaultUrl: options.defaultUrl ?? null, maxBodyBytes: 256 * 1024 });
  hook = enqueuer.onTerminal;
  const sender = await createWebhookSender({ mayConnect: mayConnect(options.policy ?? OPEN), maxConnections: 4 });
  const deliverer = new WebhookDeliverer(
    { queue: g.queue, store: g.store, sender, signer: new WebhookSigner(secrets), logger: silentLogger },
    { queueName: WEBHOOK_QUEUE, concurrency: 4, timeoutMs: 5000, retry: { maxAttempts: options.maxAttempts ?? 5, baseMs: 10, maxMs: 50 }, visibilityTimeoutMs: 30_000, userAgent: 'test' },
  );
  deliverer.start();
  cleanup.push(() => sender.close(), () => deliverer.stop());
  return { g, receiver, enqueuer, deliverer };
}

async function webhookNotes(g: Gateway, id: string): Promise<Array<Record<string, unknown>>> {
  return (await g.store.events(id)).flatMap((e) => (e.note?.kind === 'webhook' ? [e.note.detail] : []));
}

describe('webhooks', () => {
  it('posts the /response body plus the event, signed with every active key, once; the trail records it', async () => {
    const secrets = [newSecret(), newSecret()];
    const { g, receiver } = await setup({ secrets });
    const other = await new WebhookReceiver([]).start();
    const elsewhere = await g.submit({ operation: 'echo', data: 'hi' }, { callback_url: other.url });
    const mine = await g.submit({ operation: 'uppercase', data: 'hi' }, { callback_url: receiver.url });
    const [call] = await waitFor(() => (receiver.callsFor(mine).length > 0 ? receiver.callsFor(mine) : undefined), { what: 'the webhook' });
    expect(call?.verifiedBy).toEqual([0, 1]);
    expect(call?.signature.split(' ')).toHaveLength(2);
    const response = await g.app.inject({ method: 'GET', url: `/api/v1/response/${mine}` });
    expect(call?.body).toEqual({ event: 'request.completed', ...response.json() });
    expect(call?.id).toMatch(/^msg_[0-9a-f]{32}_completed_[0-9a-z]+$/);
    await waitFor(async () => (await webhookNotes(g, mine)).some((n) => n.state === 'delivered'), { what: 'the delivered note' });
    expect((await webhookNotes(g, mine)).map((n) => n.state)).toEqual(['queued', 'delivered']);
    expect((await webhookNotes(g, mine))[1]).toMatchObject({ webhook_id: call?.id, event: 'request.completed', attempt: 1, status: 200, error: null, latency_ms: expect.any(Number) });
    // Each request's webhook goes to its own URL.
    await waitFor(() => other.calls.length === 1, { what: 'the other webhook' });
    expect(other.calls[0]?.body.correlation_id).toBe(elsewhere);
    expect(receiver.callsFor(elsewhere)).toEqual([]);
  });

  it('retries after a 500 and a 429 with Retry-After, under one webhook id, and records each attempt', async () => {
    const { g, receiver } = await setup();
    receiver.program.push({ status: 500 }, { status: 429, headers: { 'retry-after': '1' } });
    const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'delivered'), { what: 'delivery after two failures', timeoutMs: 15_000 });
    const calls = receiver.callsFor(id);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.id)).size).toBe(1);
    expect(calls.every((c) => c.verifiedBy.length === 1)).toBe(true);
    const attempts = (await webhookNotes(g, id)).filter((n) => n.state !== 'queued');
    expect(attempts.map((n) => [n.state, n.status, n.attempt])).toEqual([
      ['retrying', 500, 1],
      ['retrying', 429, 2],
      ['delivered', 200, 3],
    ]);
    // The policy alone would wait at most 50 ms: the receiver's Retry-After won.
    expect(attempts[1]?.retry_in_ms).toBeGreaterThanOrEqual(1000);
  });

  it('sends each ending once with its own event, and only the events a request chose', async () => {
    const { g, receiver } = await setup();
    await g.pool.stop();
    const failed = await g.submit({ operation: 'error' }, { callback_url: receiver.url });
    const cancelled = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    const unchosen = await g.submit({ operation: 'echo' }, { callback_url: receiver.url, callback_events: ['request.failed'] });
    const chosen = await g.submit({ operation: 'error' }, { callback_url: receiver.url, callback_events: ['request.failed'] });
    const timedOut = await g.submit({ operation: 'sleep', seconds: 30 }, { callback_url: receiver.url, timeout: 0.5 });
    expect((await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${cancelled}` })).statusCode).toBe(200);
    // The API's cancel enqueues nothing itself: a worker finds the request CANCELLED when its message comes.
    expect(await webhookNotes(g, cancelled)).toEqual([]);
    // A worker that fails at once (no retries), fed by the same enqueuer as `openhqm start` wires it.
    const enqueuer = new WebhookEnqueuer({ queue: g.queue, store: g.store, present: presentResult, logger: silentLogger }, { queueName: WEBHOOK_QUEUE, defaultUrl: null, maxBodyBytes: 256 * 1024 });
    const pool = new WorkerPool(
      { queue: g.queue, store: g.store, events: g.events, processor: builtinProcessor, logger: silentLogger },
      { queueName: 'openhqm-requests', concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1000, workerId: 'w2', retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 300, ttlMs: 3_600_000, onTerminal: enqueuer.onTerminal },
    );
    pool.start();
    cleanup.push(() => pool.stop());
    for (const id of [failed, cancelled, unchosen, chosen, timedOut]) await g.finished(id);
    // Every request message settled: whatever was to be enqueued is.
    await waitFor(async () => {
      const stats = await g.queue.stats('openhqm-requests');
      return stats.depth === 0 && stats.inFlight === 0;
    });
    await waitFor(() => receiver.calls.length >= 4, { what: 'four webhooks' });
    await waitFor(async () => {
      const stats = await g.queue.stats(WEBHOOK_QUEUE);
      return stats.depth === 0 && stats.inFlight === 0;
    });
    expect(receiver.callsFor(failed).map((c) => c.body.event)).toEqual(['request.failed']);
    expect(receiver.callsFor(cancelled).map((c) => c.body.event)).toEqual(['request.cancelled']);
    expect(receiver.callsFor(chosen).map((c) => c.body.event)).toEqual(['request.failed']);
    expect(receiver.callsFor(timedOut).map((c) => c.body.event)).toEqual(['request.timeout']);
    expect(receiver.callsFor(unchosen)).toEqual([]);
    expect(receiver.calls).toHaveLength(4);
    expect(receiver.callsFor(cancelled)[0]?.body).toMatchObject({ status: 'CANCELLED', error_code: 'HQM_ERR_CANCELLED' });
  });

  it('enqueues a transition found again (a redelivered message) only once', async () => {
    const { g, enqueuer } = await setup();
    await g.pool.stop();
    const id = await g.submit({}, { callback_url: 'http://hooks.example/x' });
    const record = await g.store.get(id);
    const cancel = await g.store.transition({ id, from: ['PENDING'], to: 'CANCELLED', attempt: record?.attempt ?? 0, error: 'cancelled' });
    expect(cancel.ok).toBe(true);
    const published: string[] = [];
    const publish = g.queue.publish.bind(g.queue);
    g.queue.publish = async (queue, message) => {
      published.push(queue);
      return publish(queue, message);
    };
    const seen = { id, metadata: { callback_url: 'http://hooks.example/x' }, tenant: null, record: null, applied: false };
    await enqueuer.onTerminal(seen);
    await enqueuer.onTerminal(seen);
    expect(published).toEqual([WEBHOOK_QUEUE]);
  });

  it('enqueues the webhook when the message comes back after the enqueue failed (nothing settled before it)', async () => {
    const { g, receiver } = await setup({ visibilityTimeoutMs: 300 });
    const publish = g.queue.publish.bind(g.queue);
    let refusals = 0;
    g.queue.publish = async (queue, message) => {
      if (queue === WEBHOOK_QUEUE && refusals === 0) {
        refusals += 1;
        throw new Error('queue down for a moment');
      }
      return publish(queue, message);
    };
    const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'delivered'), { what: 'the webhook after the redelivery', timeoutMs: 15_000 });
    expect(refusals).toBe(1);
    expect(receiver.callsFor(id)).toHaveLength(1);
    expect((await webhookNotes(g, id)).map((n) => n.state)).toEqual(['queued', 'delivered']);
  });

  it('drops a repeated message of a webhook already delivered', async () => {
    const { g, receiver } = await setup();
    const bodies: string[] = [];
    const publish = g.queue.publish.bind(g.queue);
    g.queue.publish = async (queue, message) => {
      if (queue === WEBHOOK_QUEUE) bodies.push(message.body);
      return publish(queue, message);
    };
    const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'delivered'), { what: 'the webhook' });
    // The same message again, as a crash between its publish and its trail note would leave it.
    await publish(WEBHOOK_QUEUE, { body: bodies[0] ?? '' });
    await waitFor(async () => {
      const stats = await g.queue.stats(WEBHOOK_QUEUE);
      return stats.depth === 0 && stats.inFlight === 0;
    });
    expect(receiver.callsFor(id)).toHaveLength(1);
  });

  it('dead-letters a delivery the receiver refuses, lists it for admins, and redelivers it', async () => {
    const { g, receiver } = await setup();
    receiver.program.push({ status: 400 });
    const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'failed'), { what: 'the failed delivery' });
    const list = await waitFor(async () => {
      const res = await g.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=failed&limit=10' });
      const body = res.json<{ deliveries: Array<Record<string, unknown>>; next_cursor: string | null }>();
      return body.deliveries.length > 0 ? body : undefined;
    });
    expect(list.deliveries[0]).toMatchObject({ correlation_id: id, event: 'request.completed', attempts: 1, reason: 'the receiver answered 400' });
    expect(list.next_cursor).toBeNull();
    const webhookId = list.deliveries[0]?.id as string;
    const redelivered = await g.app.inject({ method: 'POST', url: `/api/v1/webhook-deliveries/${webhookId}/redeliver` });
    expect(redelivered.statusCode, redelivered.body).toBe(202);
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'delivered'), { what: 'the redelivery' });
    expect(receiver.callsFor(id).map((c) => c.id)).toEqual([webhookId, webhookId]);
    // Redelivered, it is off the failed list; a second redelivery finds nothing to send.
    const after = await g.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=failed&limit=10' });
    expect(after.json<{ deliveries: Array<{ id: string }> }>().deliveries.map((d) => d.id)).not.toContain(webhookId);
    expect((await g.app.inject({ method: 'POST', url: `/api/v1/webhook-deliveries/${webhookId}/redeliver` })).statusCode).toBe(404);
    expect((await g.app.inject({ method: 'POST', url: '/api/v1/webhook-deliveries/msg_nothing/redeliver' })).statusCode).toBe(404);
    expect((await g.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?limit=0' })).statusCode).toBe(422);
  });

  it('a dead-lettered request that is replayed and ends again calls the webhook again, under a new id', async () => {
    const { g, receiver } = await setup();
    const id = await g.submit({ operation: 'error', data: 'boom' }, { callback_url: receiver.url });
    const [first] = await waitFor(() => (receiver.callsFor(id).length > 0 ? receiver.callsFor(id) : undefined), { what: 'the first webhook' });
    expect(first?.body).toMatchObject({ event: 'request.failed' });
    const letters = await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters' });
    const letter = letters.json<{ dead_letters: Array<{ id: string; correlation_id: string }> }>().dead_letters.find((d) => d.correlation_id === id);
    expect(letter).toBeDefined();
    // Replayed unchanged, it fails again at the same attempt number as the first time.
    expect((await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter?.id ?? ''}/replay`, payload: {} })).statusCode).toBe(202);
    const calls = await waitFor(() => (receiver.callsFor(id).length > 1 ? receiver.callsFor(id) : undefined), { what: 'the webhook of the second ending' });
    expect(calls.map((c) => c.body.event)).toEqual(['request.failed', 'request.failed']);
    expect(calls[1]?.id).not.toBe(first?.id);
    expect(await webhookNotes(g, id)).toContainEqual(expect.objectContaining({ webhook_id: calls[1]?.id, state: 'delivered' }));
  });

  it('pages failed deliveries with a cursor, newest first', async () => {
    const { g, receiver } = await setup();
    receiver.program.push({ status: 410 }, { status: 410 }, { status: 410 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
      ids.push(id);
      await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'failed'));
    }
    const first = (await g.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?limit=2' })).json<{ deliveries: Array<{ correlation_id: string }>; next_cursor: string }>();
    const second = (await g.app.inject({ method: 'GET', url: `/api/v1/webhook-deliveries?limit=2&cursor=${first.next_cursor}` })).json<{ deliveries: Array<{ correlation_id: string }>; next_cursor: string | null }>();
    expect([...first.deliveries, ...second.deliveries].map((d) => d.correlation_id)).toEqual([...ids].reverse());
    expect(second.next_cursor).toBeNull();
  });
});

describe('SSRF guard', () => {
  it('refuses literal internal addresses and localhost at submit with 422, storing nothing', async () => {
    const { g } = await setup({ submitPolicy: { allowPrivate: false, allowedHosts: ['hooks.internal'] } });
    for (const url of ['http://127.0.0.1:9/x', 'http://10.0.0.5/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[fe80::1]/x', 'http://[fd00::1]/x', 'http://[::ffff:127.0.0.1]/x', 'http://localhost/x', 'ftp://example.com/x', 'http://user:pw@example.com/x']) {
      const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { callback_url: url } } });
      expect(res.statusCode, url).toBe(422);
      expect(res.json().detail[0].loc, url).toEqual(['body', 'metadata', 'callback_url']);
    }
    const bad = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { callback_url: 'https://example.com/x', callback_events: ['request.done'] } } });
    expect(bad.statusCode).toBe(422);
    expect((await g.queue.stats('openhqm-requests')).depth).toBe(0);
    const allowed = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { callback_url: 'http://hooks.internal/x' } } });
    expect(allowed.statusCode).toBe(202);
  });

  it('refuses at connect time a name that resolves to an internal address, unless the host is allowed', async () => {
    const receiver = await new WebhookReceiver([]).start();
    // A resolver that maps every name to the loopback receiver, as DNS rebinding would.
    const lookup = ((_host: string, options: unknown, callback?: unknown) => {
      const cb = (typeof options === 'function' ? options : callback) as (e: null, a: unknown, f?: number) => void;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
      if (all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as LookupFunction;
    const closed: WebhookSender = await createWebhookSender({ mayConnect: mayConnect({ allowPrivate: false, allowedHosts: [] }), maxConnections: 1, lookup });
    const opened: WebhookSender = await createWebhookSender({ mayConnect: mayConnect({ allowPrivate: false, allowedHosts: ['receiver.test'] }), maxConnections: 1, lookup });
    cleanup.push(() => closed.close(), () => opened.close());
    const post = { url: `http://receiver.test:${receiver.port}/hooks`, headers: { 'content-type': 'application/json' }, body: '{"event":"x"}', timeoutMs: 5000 };
    const refusal = await closed.post(post).catch((error: unknown) => error);
    expect(isHqmError(refusal) && refusal.code).toBe('HQM_ERR_WEBHOOK_REFUSED');
    // Refused before connecting: not even a TCP handshake reached the internal address.
    expect(receiver.connections).toBe(0);
    const literal = await closed.post({ ...post, url: `http://127.0.0.1:${receiver.port}/hooks` }).catch((error: unknown) => error);
    expect(isHqmError(literal) && literal.code).toBe('HQM_ERR_WEBHOOK_REFUSED');
    expect(receiver.connections).toBe(0);
    expect((await opened.post(post)).status).toBe(200);
    expect(receiver.calls).toHaveLength(1);
  });

  it('dead-letters a webhook whose host resolves to a refused address, without sending it', async () => {
    const { g, receiver } = await setup({ policy: { allowPrivate: false, allowedHosts: [] } });
    const id = await g.submit({ operation: 'echo' }, { callback_url: receiver.url });
    await waitFor(async () => (await webhookNotes(g, id)).some((n) => n.state === 'failed'), { what: 'the refusal' });
    expect((await webhookNotes(g, id)).find((n) => n.state === 'failed')).toMatchObject({ status: null, attempt: 1, error: expect.stringContaining('may not reach') });
    expect(receiver.calls).toHaveLength(0);
  });
});

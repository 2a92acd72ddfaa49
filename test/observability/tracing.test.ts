/**
 * Tracing in one process (`openhqm start` wired by startApp) against an OTLP receiver the test
 * runs: the spans of one request — HTTP submit, send, queue wait, each attempt, each upstream
 * call, the webhook — form one trace under the client's traceparent, the outgoing calls name
 * their spans in their traceparent headers, and the log lines carry the ids. The split across
 * `openhqm api` and `openhqm worker` processes is test/e2e/tracing.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app/compose.js';
import { configSchema } from '../../src/config/schema.js';
import { tracingSettings } from '../../src/config/tracing.js';
import { createLogger } from '../../src/observability/logger.js';
import { OtlpReceiver, SPAN_KIND, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { newSecret, WebhookReceiver } from '../helpers/webhook-receiver.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

interface Started {
  readonly app: RunningApp;
  readonly url: string;
  readonly logs: Array<Record<string, unknown>>;
}

async function start(config: Record<string, unknown>, otel: Record<string, string>): Promise<Started> {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The event-loop guard would answer 503 on a machine busy with other work; it is not under test here.
  const parsed = configSchema.parse({ queue: { type: 'memory' }, cache: { type: 'memory' }, server: { host: '127.0.0.1', port: 0 }, api: { max_event_loop_delay_ms: 0 }, ...config });
  const issues: never[] = [];
  const app = await startApp(parsed, { api: true, worker: true }, createLogger({ level: 'debug', format: 'json', destination }), { tracing: tracingSettings(otel, issues) });
  running.push(app);
  return { app, url: app.url as string, logs };
}

function submit(url: string, body: unknown, traceparent?: string): Promise<Response> {
  return fetch(`${url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json', ...(traceparent === undefined ? {} : { traceparent }) }, body: JSON.stringify(body) });
}

async function finished(url: string, id: string): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const res = await fetch(`${url}/api/v1/response/${id}?wait=5`);
      return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
    },
    { what: `request ${id} to finish` },
  );
}

function one(spans: readonly ReceivedSpan[], name: string | RegExp): ReceivedSpan {
  const found = spans.filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
  expect(found.map((s) => s.name), `one span named ${String(name)}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

describe('tracing (one process)', () => {
  it('one trace from the client through every attempt, the upstream calls and the webhook', async () => {
    const otlp = await new OtlpReceiver().start();
    const upstream = await startUpstream();
    // The first call fails with a 503 (retried), the second answers.
    upstream.program = (call) => (call === 0 ? { status: 503, body: 'busy' } : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    const secret = newSecret();
    const hooks = await new WebhookReceiver([secret]).start();
    const { app, url, logs } = await start(
      {
        proxy: { enabled: true, default_endpoint: `${upstream.url}/programmed` },
        worker: { retry_delay_base: 0.05, retry_delay_max: 0.05 },
        delivery: { webhooks: { secret, allowed_hosts: ['127.0.0.1'] } },
      },
      { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'gateway-under-test' },
    );

    const res = await submit(url, { payload: { n: 1 }, metadata: { callback_url: hooks.url } }, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { correlation_id: string }).correlation_id;
    expect(await finished(url, id)).toMatchObject({ status: 'COMPLETED', status_code: 200 });
    await waitFor(() => hooks.calls.length === 1, { what: 'the webhook' });
    // Stopping exports what is buffered.
    await app.stop();

    const spans = otlp.trace(CLIENT_TRACE);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['gateway-under-test']));
    const server = one(spans, 'POST /api/v1/submit');
    expect(server).toMatchObject({ kind: SPAN_KIND.server, parentSpanId: CLIENT_SPAN, attributes: expect.objectContaining({ 'http.route': '/api/v1/submit', 'http.response.status_code': 202 }) });
    const send = one(spans, 'send default');
    expect(send).toMatchObject({ kind: SPAN_KIND.producer, parentSpanId: server.spanId, attributes: expect.objectContaining({ 'messaging.message.id': id }) });
    const wait = one(spans, 'wait default');
    expect(wait.parentSpanId).toBe(send.spanId);

    // Two attempts, siblings under the send span, in order: the first retried, the second completed.
    const attempts = spans.filter((s) => s.name === 'process default').sort((a, b) => Number(a.start - b.start));
    expect(attempts.map((a) => [a.attributes['openhqm.attempt'], a.attributes['openhqm.outcome'], a.status, a.parentSpanId])).toEqual([
      [1, 'retry', 2, send.spanId],
      [2, 'completed', 0, send.spanId],
    ]);
    expect(attempts[0]?.attributes['openhqm.retry.delay_ms']).toBeTypeOf('number');

    // Each upstream call is a child of its attempt, and its traceparent header names that call's span.
    const calls = spans.filter((s) => s.kind === SPAN_KIND.client && s.name.startsWith('POST http://127.0.0.1')).sort((a, b) => Number(a.start - b.start));
    expect(calls.map((c) => [c.parentSpanId, c.attributes['http.response.status_code'], c.status])).toEqual([
      [attempts[0]?.spanId, 503, 2],
      [attempts[1]?.spanId, 200, 0],
    ]);
    expect(upstream.received.map((r) => r.headers.traceparent)).toEqual(calls.map((c) => `00-${CLIENT_TRACE}-${c.spanId}-01`));

    // The webhook continues from the attempt that completed the request.
    const webhook = one(spans, 'webhook request.completed');
    expect(webhook).toMatchObject({ kind: SPAN_KIND.client, parentSpanId: attempts[1]?.spanId, attributes: expect.objectContaining({ 'http.response.status_code': 200, 'url.full': hooks.url }) });
    expect(hooks.calls[0]?.traceparent).toBe(`00-${CLIENT_TRACE}-${webhook.spanId}-01`);

    // Log lines about the attempt carry its trace and span ids.
    const retried = logs.find((l) => l.msg === 'attempt failed; will retry');
    expect(retried).toMatchObject({ correlation_id: id, trace_id: CLIENT_TRACE, span_id: attempts[0]?.spanId });
  }, 30_000);

  it('a request without a traceparent starts a trace of its own; an unsampled parent is propagated, not recorded', async () => {
    const otlp = await new OtlpReceiver().start();
    const upstream = await startUpstream();
    const { app, url } = await start({ proxy: { enabled: true, default_endpoint: `${upstream.url}/echo` } }, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    const fresh = ((await (await submit(url, { payload: {} })).json()) as { correlation_id: string }).correlation_id;
    await finished(url, fresh);
    const unsampledTrace = '11111111111111111111111111111111';
    const quiet = ((await (await submit(url, { payload: {} }, `00-${unsampledTrace}-2222222222222222-00`)).json()) as { correlation_id: string }).correlation_id;
    await finished(url, quiet);
    await app.stop();

    const root = one(otlp.spans, 'POST /api/v1/submit');
    expect(root.parentSpanId).toBe('');
    expect(otlp.trace(root.traceId).map((s) => s.name).sort()).toEqual(['POST /api/v1/submit', `POST ${new URL(upstream.url).origin}`, 'process default', 'send default', 'wait default'].sort());
    expect(otlp.trace(unsampledTrace)).toEqual([]);
    // The upstream still hears the client's trace, unsampled, with a span id of the gateway's.
    const heard = upstream.received.map((r) => String(r.headers.traceparent));
    expect(heard[1]).toMatch(new RegExp(`^00-${unsampledTrace}-[0-9a-f]{16}-00$`));
    expect(heard[1]).not.toContain('2222222222222222');
  }, 30_000);

  it('a replayed dead letter keeps the request in its trace; the replay links to it', async () => {
    const otlp = await new OtlpReceiver().start();
    const { app, url, logs } = await start({ worker: { max_retries: 0 } }, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    const id = ((await (await submit(url, { payload: { operation: 'error' } }, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`)).json()) as { correlation_id: string }).correlation_id;
    expect(await finished(url, id)).toMatchObject({ status: 'FAILED' });
    const letters = (await (await fetch(`${url}/api/v1/dead-letters`)).json()) as { dead_letters: Array<{ id: string; correlation_id: string }> };
    const letter = letters.dead_letters.find((l) => l.correlation_id === id);
    const replay = await fetch(`${url}/api/v1/dead-letters/${letter?.id ?? ''}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo' } }) });
    expect(replay.status).toBe(202);
    expect(await finished(url, id)).toMatchObject({ status: 'COMPLETED' });
    await app.stop();

    const spans = otlp.trace(CLIENT_TRACE);
    const send = one(spans, 'send default');
    const attempts = spans.filter((s) => s.name === 'process default').sort((a, b) => Number(a.start - b.start));
    expect(attempts.map((a) => [a.attributes['openhqm.attempt'], a.attributes['openhqm.outcome'], a.parentSpanId])).toEqual([
      [1, 'failed', send.spanId],
      [1, 'completed', send.spanId],
    ]);
    const replayed = one(otlp.spans, 'POST /api/v1/dead-letters/:id/replay');
    expect(replayed.traceId).not.toBe(CLIENT_TRACE);
    expect(replayed.links).toEqual([{ traceId: CLIENT_TRACE, spanId: send.spanId }]);
    // The API's own log line about it carries the HTTP span's ids.
    expect(logs.find((l) => l.msg === 'dead letter replayed')).toMatchObject({ correlation_id: id, trace_id: replayed.traceId, span_id: replayed.spanId });
  }, 30_000);

  it('a captured request, the items of a batch and a follow-up stay in their client\u2019s trace', async () => {
    const otlp = await new OtlpReceiver().start();
    const upstream = await startUpstream();
    const { app, url } = await start({ proxy: { enabled: true, default_endpoint: `${upstream.url}/echo`, capture: { enabled: true } } }, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    const traces = ['a1', 'b2', 'c3'].map((t) => t.repeat(16));
    const header = (i: number): string => `00-${traces[i] as string}-${CLIENT_SPAN}-01`;

    // Sidecar: the captured request came with the client's traceparent; the upstream hears the call's span instead.
    const captured = await fetch(`${url}/legacy/orders`, { method: 'POST', headers: { traceparent: header(0), 'content-type': 'text/plain' }, body: 'x' });
    expect(captured.status).toBe(202);
    await finished(url, ((await captured.json()) as { correlation_id: string }).correlation_id);
    // A batch: one send span per item, each under the batch's HTTP span.
    const batch = await fetch(`${url}/api/v1/submit/batch`, { method: 'POST', headers: { traceparent: header(1), 'content-type': 'application/json' }, body: JSON.stringify({ requests: [{ payload: { a: 1 } }, { payload: { a: 2 } }] }) });
    expect(batch.status).toBe(202);
    // A chain: the follow-up is submitted under the attempt that completed its parent.
    const chained = ((await (await submit(url, { payload: { step: 1 }, metadata: { then: { payload: { step: 2 } } } }, header(2))).json()) as { correlation_id: string }).correlation_id;
    await finished(url, chained);
    await waitFor(() => upstream.received.length === 5, { what: 'every call to reach the upstream' });
    // The follow-up's own attempt may still be storing its outcome: stop waits for it, then exports.
    await app.stop();

    const capture = otlp.trace(traces[0] as string);
    const call = one(capture, new RegExp(`^POST ${new URL(upstream.url).origin}`));
    expect(one(capture, 'POST /*').parentSpanId).toBe(CLIENT_SPAN);
    const heard = upstream.received.find((r) => r.path === '/echo/legacy/orders');
    expect(heard?.headers.traceparent).toBe(`00-${traces[0] as string}-${call.spanId}-01`);

    const batchSpans = otlp.trace(traces[1] as string);
    const batchHttp = one(batchSpans, 'POST /api/v1/submit/batch');
    expect(batchSpans.filter((s) => s.name === 'send default').map((s) => s.parentSpanId)).toEqual([batchHttp.spanId, batchHttp.spanId]);

    const chain = otlp.trace(traces[2] as string);
    const sends = chain.filter((s) => s.name === 'send default');
    const parentAttempt = chain.find((s) => s.name === 'process default' && s.attributes['openhqm.correlation_id'] === chained);
    expect(sends.map((s) => s.parentSpanId).sort()).toEqual([one(chain, 'POST /api/v1/submit').spanId, parentAttempt?.spanId].sort());
    expect(chain.filter((s) => s.name === 'process default')).toHaveLength(2);
  }, 30_000);

  it('exports protobuf (the default protocol of the specification) to the traces path of the endpoint', async () => {
    const otlp = await new OtlpReceiver().start();
    const { app, url } = await start({}, { OTEL_EXPORTER_OTLP_ENDPOINT: `${otlp.endpoint}/collector` });
    await finished(url, ((await (await submit(url, { payload: {} }, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`)).json()) as { correlation_id: string }).correlation_id);
    await app.stop();
    expect(otlp.paths[0]).toBe('/collector/v1/traces');
    // Undecoded (the exporter ships no decoder), but the trace id's 16 bytes are in it.
    expect(otlp.protobuf.some((body) => body.includes(Buffer.from(CLIENT_TRACE, 'hex')))).toBe(true);
  }, 30_000);

  it('off: nothing is exported, the client’s traceparent reaches the upstream as it came, and one that is not valid is dropped', async () => {
    const otlp = await new OtlpReceiver().start();
    const upstream = await startUpstream();
    // The OTEL variables a service may carry for others, without an endpoint: off.
    const { app, url } = await start({ proxy: { enabled: true, default_endpoint: `${upstream.url}/echo` } }, { OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' });
    const client = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
    await finished(url, ((await (await submit(url, { payload: {} }, client)).json()) as { correlation_id: string }).correlation_id);
    await finished(url, ((await (await submit(url, { payload: {} }, 'garbage')).json()) as { correlation_id: string }).correlation_id);
    await app.stop();
    expect(upstream.received.map((r) => r.headers.traceparent)).toEqual([client, undefined]);
    expect(otlp.paths).toEqual([]);
  }, 30_000);

  it('off: the SDK is never loaded', () => {
    // A process of its own: this file's other tests load it. (@opentelemetry/api alone is
    // prom-client's, loaded with or without tracing.)
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { createRequire } from 'node:module';
      const { startApp } = await import('./src/app/compose.ts');
      const { configSchema } = await import('./src/config/schema.ts');
      const { createLogger } = await import('./src/observability/logger.ts');
      const config = configSchema.parse({ queue: { type: 'memory' }, cache: { type: 'memory' }, server: { host: '127.0.0.1', port: 0 } });
      const app = await startApp(config, { api: true, worker: true }, createLogger({ level: 'silent', format: 'json' }), { tracing: { enabled: false } });
      await fetch(app.url + '/api/v1/submit', { method: 'POST', headers: { 'content-type': 'application/json', traceparent: '00-${CLIENT_TRACE}-${CLIENT_SPAN}-01' }, body: '{"payload":{}}' });
      await app.stop();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('@opentelemetry/') && !path.includes('@opentelemetry/api/'));
      process.stdout.write(JSON.stringify(loaded));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
  }, 60_000);
});

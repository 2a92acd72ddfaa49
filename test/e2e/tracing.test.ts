/**
 * One trace across processes: a submit to an `openhqm api` process and its processing by an
 * `openhqm worker` process (sharing a SQLite file), both exporting to an OTLP receiver the test
 * runs. The retried request shows attempt 1 then attempt 2 under the API's send span, and the
 * proxy's upstream hears the trace in each call's traceparent.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, startCli } from '../helpers/cli.js';
import { OtlpReceiver, SPAN_KIND, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';

const CLIENT_TRACE = '5bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '10f067aa0ba902b7';

describe('tracing across the API and worker processes', () => {
  const dir = tempDir();

  it('one trace id spans the submit in the API process and every attempt in the worker process', async () => {
    const otlp = await new OtlpReceiver().start();
    const upstream = await startUpstream();
    upstream.program = (call) => (call === 0 ? { status: 503, body: 'busy' } : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    const env = {
      OPENHQM_SQLITE__PATH: join(dir, 'traced.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/programmed`,
      OPENHQM_WORKER__RETRY_DELAY_BASE: '0.05',
      OPENHQM_WORKER__RETRY_DELAY_MAX: '0.05',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // The event-loop guard would answer 503 on a machine busy with other work; it is not under test here.
      OPENHQM_API__MAX_EVENT_LOOP_DELAY_MS: '0',
    };
    const api = await startCli(['api'], { ...env, OTEL_SERVICE_NAME: 'openhqm-api' }).ready();
    const worker = await startCli(['worker'], { ...env, OTEL_SERVICE_NAME: 'openhqm-worker' }).ready();
    const res = await fetch(`${api.url}/api/v1/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      body: JSON.stringify({ payload: { order: 7 } }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { correlation_id: string }).correlation_id;
    expect(await finished(api.url, id)).toMatchObject({ status: 'COMPLETED', status_code: 200 });
    // A stop exports what each process still buffers.
    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);

    const spans = otlp.trace(CLIENT_TRACE);
    const of = (service: string): string[] => spans.filter((s) => s.service === service).map((s) => s.name).sort();
    expect(of('openhqm-api')).toEqual(['POST /api/v1/submit', 'send default']);
    const send = spans.find((s) => s.name === 'send default') as ReceivedSpan;
    const submit = spans.find((s) => s.name === 'POST /api/v1/submit') as ReceivedSpan;
    expect(submit.parentSpanId).toBe(CLIENT_SPAN);
    expect(send.parentSpanId).toBe(submit.spanId);

    const attempts = spans.filter((s) => s.service === 'openhqm-worker' && s.name === 'process default').sort((a, b) => Number(a.start - b.start));
    expect(attempts.map((a) => [a.attributes['openhqm.attempt'], a.attributes['openhqm.outcome'], a.parentSpanId, a.kind])).toEqual([
      [1, 'retry', send.spanId, SPAN_KIND.consumer],
      [2, 'completed', send.spanId, SPAN_KIND.consumer],
    ]);
    expect(spans.find((s) => s.name === 'wait default')?.parentSpanId).toBe(send.spanId);

    const calls = spans.filter((s) => s.service === 'openhqm-worker' && s.kind === SPAN_KIND.client).sort((a, b) => Number(a.start - b.start));
    expect(calls.map((c) => c.parentSpanId)).toEqual(attempts.map((a) => a.spanId));
    expect(upstream.received.map((r) => r.headers.traceparent)).toEqual(calls.map((c) => `00-${CLIENT_TRACE}-${c.spanId}-01`));

    // The worker's log line about the failed attempt names the trace and the attempt's span.
    const retried = worker.output.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [])).find((l) => l.msg === 'attempt failed; will retry');
    expect(retried).toMatchObject({ correlation_id: id, trace_id: CLIENT_TRACE, span_id: attempts[0]?.spanId });
  }, 60_000);
});

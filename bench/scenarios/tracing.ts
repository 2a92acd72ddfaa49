/**
 * Issue 16 item 1 figure: what tracing costs. The same `openhqm start` (SQLite) with tracing off
 * (the default: the SDK is not loaded), on with every request sampled, and on with one request
 * in ten sampled (`parentbased_traceidratio` 0.1), spans exported as protobuf to a local OTLP sink
 * in its own process: submit throughput and end-to-end completion. With
 * OPENHQM_BENCH_BASELINE=<another build's dist/cli/main.js> that build runs first as `baseline`
 * (a build from before tracing existed: "off" against it is what tracing costs when off).
 *
 * The modes run interleaved, `rounds` times, and each figure is the median of its mode's runs:
 * on a shared machine the load drifts, and one run per mode would measure the drift. Beside the
 * rates, the server's CPU time per end-to-end request (from /proc): what other processes on the
 * machine do changes a rate far more than it changes the CPU one request costs. And, in this
 * process, the CPU the spans of one request cost by themselves (the tracer alone, exporting to
 * the sink), per sampler.
 * `npm run bench -- --only tracing`; not part of the default run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HqmEvents } from '../../src/core/events.js';
import { startTracing } from '../../src/observability/tracing.js';
import type { LoadResult } from '../lib/load.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { completed } from '../lib/metrics.js';
import { CLI, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';

const SINK = fileURLToPath(new URL('../otlp-sink.ts', import.meta.url));

export interface TracingOptions {
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly rounds: number;
}

interface Mode {
  readonly name: string;
  readonly cli: string;
  readonly env: Record<string, string>;
}

export async function tracingScenario(report: Report, options: TracingOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-bench-tracing-'));
  const sink = await startServer([SINK], {}, ['--import', 'tsx']);
  // Capacity, not protection: neither load shedding (queue depth) nor the event-loop guard
  // answers 503 while a busy machine measures. (A refused submit never completes.)
  const server = { OPENHQM_WORKER__COUNT: '64', OPENHQM_API__MAX_QUEUE_DEPTH: '0', OPENHQM_API__MAX_EVENT_LOOP_DELAY_MS: '0' };
  // OTEL_* variables the bench may have inherited must not turn "off" on.
  const off = { OTEL_SDK_DISABLED: 'true' };
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
  const baseline = process.env.OPENHQM_BENCH_BASELINE;
  const modes: Mode[] = [
    ...(baseline === undefined ? [] : [{ name: 'baseline (a build without tracing)', cli: baseline, env: off }]),
    { name: 'off', cli: CLI, env: off },
    { name: 'on, every request sampled', cli: CLI, env: { ...on, OTEL_TRACES_SAMPLER: 'always_on' } },
    { name: 'on, 1 in 10 sampled', cli: CLI, env: { ...on, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
  ];
  const submits = new Map<string, Array<{ result: LoadResult; rssMb: number }>>();
  const e2es = new Map<string, Array<{ perSecond: number; rssMb: number; cpuUs: number }>>();
  try {
    for (let round = 0; round < options.rounds; round += 1) {
      for (const mode of modes) {
        const db = (what: string): string => join(dir, `${what}-${modes.indexOf(mode)}-${round}.db`);
        const measured = await measureSubmit(mode.name, { args: [mode.cli, 'start'], env: { OPENHQM_SQLITE__PATH: db('submit'), ...server, ...mode.env } }, options);
        push(submits, mode.name, { result: measured.result, rssMb: measured.rssMb });
        const running = await startServer([mode.cli, 'start'], { OPENHQM_SQLITE__PATH: db('e2e'), ...server, ...mode.env });
        const pid = running.child.pid as number;
        const cpuBefore = cpuSeconds(pid);
        const e2e = await measureEndToEnd(running, { requests: options.e2eRequests, connections: options.connections, completed: () => completed(running.url) })
          .then((measured) => ({ ...measured, cpuUs: ((cpuSeconds(pid) - cpuBefore) / options.e2eRequests) * 1e6 }))
          .finally(() => running.stop());
        push(e2es, mode.name, e2e);
      }
    }
    const runs = options.rounds === 1 ? '1 run' : `median of ${options.rounds} interleaved runs`;
    const reference = modes.find((m) => m.name === 'off') as Mode;
    const offSubmit = median(submits.get(reference.name) ?? [], (r) => r.result.requestsPerSecond);
    const offE2e = median(e2es.get(reference.name) ?? [], (r) => r.perSecond);
    for (const mode of modes) {
      const s = median(submits.get(mode.name) ?? [], (r) => r.result.requestsPerSecond);
      report.rate('tracing', `OpenHQM submit, tracing ${mode.name} (openhqm start, SQLite; ${runs})`, s.result.requestsPerSecond, {
        p50: s.result.p50Ms,
        p99: s.result.p99Ms,
        rssMb: s.rssMb,
        ...(mode === reference ? {} : { ratioTo: offSubmit.result.requestsPerSecond }),
      });
    }
    for (const mode of modes) {
      const e = median(e2es.get(mode.name) ?? [], (r) => r.perSecond);
      report.rate('tracing', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED, tracing ${mode.name} (openhqm start, SQLite; ${runs})`, e.perSecond, {
        rssMb: e.rssMb,
        ...(mode === reference ? {} : { ratioTo: offE2e.perSecond }),
      });
    }
    const offCpu = median(e2es.get(reference.name) ?? [], (r) => r.cpuUs);
    for (const mode of modes) {
      const c = median(e2es.get(mode.name) ?? [], (r) => r.cpuUs);
      report.rate('tracing', `server CPU per end-to-end request, tracing ${mode.name} (${runs})`, c.cpuUs, { unit: 'µs', ...(mode === reference ? {} : { ratioTo: offCpu.cpuUs }) });
    }
    for (const sampler of [{ name: 'always_on', ratio: 1 }, { name: 'parentbased_traceidratio', ratio: 0.1 }, { name: 'always_off', ratio: 0 }]) {
      const us = await spanCost(`${sink.url}/v1/traces`, sampler, options.rounds * 20_000);
      report.rate('tracing', `the spans of one request alone (HTTP, send, wait, process; in process, exported), sampler ${sampler.name}${sampler.ratio > 0 && sampler.ratio < 1 ? ` ${sampler.ratio}` : ''}`, us, { unit: 'µs CPU' });
    }
    // Proof the spans really left the processes.
    const sunk = (await (await fetch(`${sink.url}/stats`)).json()) as { posts: number; bytes: number };
    report.targets.push(`tracing: the OTLP sink received ${sunk.posts} batches, ${(sunk.bytes / 1024 / 1024).toFixed(1)} MiB of spans`);
  } finally {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU per request of what tracing does for one request in `openhqm start` (the spans a submit
 * and its attempt open, the events that close them, the export), with nothing else around it.
 */
async function spanCost(endpoint: string, sampler: { name: string; ratio: number }, requests: number): Promise<number> {
  const tracing = await startTracing({ endpoint, protocol: 'http/protobuf', sampler, serviceName: 'bench', serviceVersion: 'bench', instanceId: 'bench', logger: { warn: () => undefined } });
  const events = new HqmEvents();
  tracing.observe(events);
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i += 1) {
    const id = `request-${i}`;
    const http = tracing.httpServer({ method: 'POST', route: '/api/v1/submit', parent: null });
    const send = tracing.publish({ id, queue: 'default', parent: http.traceparent });
    send.end();
    http.end({ status: 202 });
    const attempt = tracing.attempt({ id, queue: 'default', attempt: 1, parent: send.traceparent, workerId: 'bench', queuedAt: Date.now() });
    events.emit('request:claimed', { id, queue: 'default', attempt: 1, waitMs: 1 });
    events.emit('request:completed', { id, queue: 'default', attempt: 1, durationMs: 1 });
    attempt.end();
    // Let the batch processor export as it would between requests.
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await tracing.shutdown();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / requests;
}

/** User and system CPU time of a process so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from the third: utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

/** The run with the median figure (the lower middle one of an even count), whole, so its latencies and RSS go with it. */
function median<T>(runs: readonly T[], figure: (run: T) => number): T {
  const sorted = [...runs].sort((a, b) => figure(a) - figure(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

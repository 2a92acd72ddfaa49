/**
 * jq transforms through jq-web (jq compiled to WebAssembly). jq-web runs a whole jq per call,
 * synchronously, so a runaway program (`def f: f; f`) would freeze the event loop: calls run
 * on a small pool of worker threads, one call per thread at a time. Each call is bounded
 * twice: it must reach a thread within JQ_WAIT_MS of being submitted (else it fails as busy, a
 * DeferralError: the message goes back to the queue without spending an attempt — thirty
 * looping programs must not hold up the messages queued behind them for thirty seconds), and once running it must end within TRANSFORM_TIMEOUT_MS (else its thread
 * is terminated and the call fails; the next call starts a fresh thread). Live traffic and the
 * route simulator each have their own pool, so simulating can never delay real traffic.
 *
 * A program is checked once at load (compile errors are exit code 3) and run per message; it
 * costs about a millisecond per call — JSONata is the fast alternative.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DeferralError, HqmError } from '../../core/errors.js';
import { OutputTooLargeError, TRANSFORM_TIMEOUT_MS, TransformCompileError, type JqAnswer, type JqRunner, type Transform } from './types.js';

/** Longest a jq call may wait for a free thread before it fails as busy. */
export const JQ_WAIT_MS = 1000;

export class JqTimeout extends Error {}

// CommonJS, evaluated in the thread: a file would need a different path under tsc and vitest.
// Only the first output line comes back, and only when it fits the cap (UTF-8 takes at least
// a byte per UTF-16 unit, so a longer string is over it without being measured).
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loading = require(workerData.jqWeb);
parentPort.on('message', async ({ json, program, maxBytes }) => {
  const jq = await loading;
  let out;
  try {
    out = jq.raw(json, program, ['-c']) ?? '';
  } catch (error) {
    parentPort.postMessage({ ok: false, exitCode: error.exitCode, text: String(error.stderr ?? error.message ?? error) });
    return;
  }
  const first = out.split('\\n').find((line) => line.trim() !== '') ?? '';
  if (first.length > maxBytes || Buffer.byteLength(first) > maxBytes) parentPort.postMessage({ ok: false, tooLarge: true });
  else parentPort.postMessage({ ok: true, out: first });
});
`;

interface Call {
  readonly json: string;
  readonly program: string;
  readonly maxBytes: number;
  readonly resolve: (answer: JqAnswer) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread running one call at a time; a call that overruns takes the thread with it. */
class JqThread {
  #worker: Worker | undefined;
  #current: { call: Call; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly runMs: number,
    private readonly onIdle: () => void,
  ) {}

  get idle(): boolean {
    return this.#current === undefined;
  }

  start(call: Call): void {
    const worker = this.#thread();
    worker.ref();
    const timer = setTimeout(() => this.#abandon(new JqTimeout(`jq ran longer than ${this.runMs} ms`)), this.runMs);
    this.#current = { call, timer };
    worker.postMessage({ json: call.json, program: call.program, maxBytes: call.maxBytes });
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { jqWeb: createRequire(import.meta.url).resolve('jq-web') } });
    worker.on('message', (answer: JqAnswer) => {
      if (this.#worker !== worker) return; // From a thread abandoned meanwhile.
      this.#finish()?.resolve(answer);
    });
    worker.on('error', (error) => this.#abandon(new Error(`the jq thread failed: ${error.message}`)));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#abandon(new Error('the jq thread exited'));
    });
    this.#worker = worker;
    return worker;
  }

  #finish(): Call | undefined {
    const current = this.#current;
    this.#current = undefined;
    if (current === undefined) return undefined;
    clearTimeout(current.timer);
    this.#worker?.unref(); // Idle: do not keep the process alive.
    queueMicrotask(this.onIdle);
    return current.call;
  }

  /** Fails the running call and throws its thread away; the next call gets a fresh one. */
  #abandon(error: Error): void {
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    this.#finish()?.reject(error);
  }
}

/** A few jq threads and the calls waiting for one, each with its own deadline to start. */
export class JqPool implements JqRunner {
  readonly #threads: JqThread[];
  readonly #waiting: { call: Call; timer: NodeJS.Timeout | undefined }[] = [];

  constructor(
    readonly name: string,
    size: number,
    private readonly waitMs = JQ_WAIT_MS,
    runMs = TRANSFORM_TIMEOUT_MS,
  ) {
    this.#threads = Array.from({ length: size }, () => new JqThread(runMs, () => this.#dispatch()));
  }

  run(json: string, program: string, maxOutputBytes: number, waitMs = this.waitMs): Promise<JqAnswer> {
    return new Promise((resolve, reject) => {
      const call: Call = { json, program, maxBytes: maxOutputBytes, resolve, reject };
      const busy = (): void => {
        const at = this.#waiting.indexOf(entry);
        if (at !== -1) this.#waiting.splice(at, 1);
        // Not the message's fault: it goes back to the queue without spending an attempt.
        reject(new DeferralError('HQM_ERR_OVERLOADED', `jq is busy: no ${this.name} jq thread was free within ${waitMs} ms (other programs are running); try again later`, waitMs));
      };
      const entry = { call, timer: Number.isFinite(waitMs) ? setTimeout(busy, waitMs) : undefined };
      this.#waiting.push(entry);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const thread of this.#threads) {
      if (!thread.idle) continue;
      const next = this.#waiting.shift();
      if (next === undefined) return;
      clearTimeout(next.timer);
      thread.start(next.call);
    }
  }
}

/** Threads for live traffic: two, so one runaway program leaves the other for everything else. */
export const TRAFFIC_JQ = new JqPool('traffic', 2);
/** The route simulator's own thread: a caller's programs never wait in front of real messages. */
export const SIMULATOR_JQ = new JqPool('simulator', 1);

export async function compileJq(program: string, jq: JqRunner): Promise<Transform> {
  try {
    // Loading waits its turn however long it takes: a busy pool is no reason to refuse a program.
    const probe = await jq.run('null', program, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY);
    // 5 is a runtime error on the probe input (null): the program itself compiled.
    if (!probe.ok && 'text' in probe && probe.exitCode !== 5) throw new TransformCompileError(firstLine(probe.text));
  } catch (error) {
    // A program that does not end on null may still end on a real message; it compiled.
    if (!(error instanceof JqTimeout)) throw error;
  }
  return async (message, ctx) => {
    let answer: JqAnswer;
    try {
      answer = await ctx.jq.run(JSON.stringify(message), program, ctx.maxOutputBytes);
    } catch (error) {
      if (error instanceof HqmError) throw error;
      throw new Error(`jq failed: ${(error as Error).message}`);
    }
    if (!answer.ok) {
      if ('tooLarge' in answer) return tooLarge(ctx.maxOutputBytes);
      throw new Error(`jq failed: ${firstLine(answer.text)}`);
    }
    if (answer.out === '') throw new Error('jq produced no output');
    return JSON.parse(answer.out) as unknown;
  };
}

function tooLarge(maxBytes: number): never {
  throw new OutputTooLargeError(maxBytes);
}

/** jq's error on one line: from its `jq: error` line, with the program excerpt a compile error quotes after it. */
function firstLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '' && !/^jq: \d+ compile errors?$/.test(line));
  const at = lines.findIndex((line) => line.startsWith('jq: error'));
  if (at === -1) return lines[0] ?? text;
  const error = lines[at] as string;
  const excerpt = error.endsWith(':') ? lines[at + 1] : undefined;
  return excerpt === undefined ? error : `${error} ${excerpt.trim()}`;
}

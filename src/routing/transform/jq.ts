/**
 * jq transforms through jq-web (jq compiled to WebAssembly). jq-web runs a whole jq per call,
 * synchronously, so a runaway program (`def f: f; f`) would freeze the event loop: calls run
 * one at a time on a worker thread, and one that outlives TRANSFORM_TIMEOUT_MS is abandoned by
 * terminating the thread (the next call starts a fresh one). A program is checked once at load
 * (compile errors are exit code 3) and run per message; it costs about a millisecond per call —
 * JSONata is the fast alternative.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TRANSFORM_TIMEOUT_MS, TransformCompileError, type Transform } from './types.js';

type Answer = { readonly ok: true; readonly out: string } | { readonly ok: false; readonly exitCode: number | undefined; readonly text: string };

class JqTimeout extends Error {}

// CommonJS, evaluated in the thread: a file would need a different path under tsc and vitest.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loading = require(workerData.jqWeb);
parentPort.on('message', async ({ json, program }) => {
  const jq = await loading;
  try {
    parentPort.postMessage({ ok: true, out: jq.raw(json, program, ['-c']) ?? '' });
  } catch (error) {
    parentPort.postMessage({ ok: false, exitCode: error.exitCode, text: String(error.stderr ?? error.message ?? error) });
  }
});
`;

interface Call {
  readonly json: string;
  readonly program: string;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

/** One jq thread per process, started on first use, running one call at a time. */
class JqThread {
  #worker: Worker | undefined;
  #waiting: Call[] = [];
  #current: { call: Call; timer: NodeJS.Timeout } | undefined;

  run(json: string, program: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ json, program, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#current !== undefined) return;
    const call = this.#waiting.shift();
    if (call === undefined) {
      this.#worker?.unref(); // Idle: do not keep the process alive.
      return;
    }
    const worker = this.#thread();
    worker.ref();
    const timer = setTimeout(() => this.#abandon(new JqTimeout(`jq ran longer than ${TRANSFORM_TIMEOUT_MS} ms`)), TRANSFORM_TIMEOUT_MS);
    this.#current = { call, timer };
    worker.postMessage({ json: call.json, program: call.program });
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { jqWeb: createRequire(import.meta.url).resolve('jq-web') } });
    worker.on('message', (answer: Answer) => {
      const current = this.#current;
      if (current === undefined || this.#worker !== worker) return; // From a thread abandoned meanwhile.
      clearTimeout(current.timer);
      this.#current = undefined;
      current.call.resolve(answer);
      this.#next();
    });
    worker.on('error', (error) => this.#abandon(new Error(`the jq thread failed: ${error.message}`)));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#abandon(new Error('the jq thread exited'));
    });
    this.#worker = worker;
    return worker;
  }

  /** Fails the running call and throws its thread away; the calls waiting get a fresh one. */
  #abandon(error: Error): void {
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    const current = this.#current;
    this.#current = undefined;
    if (current !== undefined) {
      clearTimeout(current.timer);
      current.call.reject(error);
    }
    this.#next();
  }
}

let thread: JqThread | undefined;

export async function compileJq(program: string): Promise<Transform> {
  thread ??= new JqThread();
  const jq = thread;
  try {
    const probe = await jq.run('null', program);
    // 5 is a runtime error on the probe input (null): the program itself compiled.
    if (!probe.ok && probe.exitCode !== 5) throw new TransformCompileError(firstLine(probe.text));
  } catch (error) {
    // A program that does not end on null may still end on a real message; it compiled.
    if (!(error instanceof JqTimeout)) throw error;
  }
  return async (message) => {
    let answer: Answer;
    try {
      answer = await jq.run(JSON.stringify(message), program);
    } catch (error) {
      throw new Error(`jq failed: ${(error as Error).message}`);
    }
    if (!answer.ok) throw new Error(`jq failed: ${firstLine(answer.text)}`);
    const first = answer.out.split('\n').find((line) => line.trim() !== '');
    if (first === undefined) throw new Error('jq produced no output');
    return JSON.parse(first) as unknown;
  };
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

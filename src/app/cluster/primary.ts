/**
 * The primary process of `--processes N` (server.processes, D150): it forks N copies of the
 * same command, which share the listening socket (node:cluster hands each new connection to
 * one of them), and runs no app itself. It
 * - starts one process first and the others once that one is ready, so a refused start-up
 *   (a bad backend for N processes, say) is reported once, and schema creation, migrations and
 *   the deployment secret are done by one process, not raced by N;
 * - exits with the child's code (2 for a refusal) when one fails before it is ready;
 * - replaces a process that dies later, after a back-off that doubles while they keep dying;
 * - on SIGTERM or SIGINT asks each process to stop gracefully (each within its own
 *   worker.shutdown_grace_seconds), kills what is left after `stopBoundMs`, and exits 0 when
 *   every process stopped cleanly; a second signal kills them at once;
 * - gathers /metrics of every process for the one that was asked (prom-client's
 *   AggregatorRegistry), one gathering shared by concurrent scrapes.
 *
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import { constants } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../../ports/logger.js';
import { crashesInARow, restartDelayMs, RESTART_POLICY, type RestartPolicy } from './count.js';
import { isToPrimary, type MetricsReply, type StopMessage } from './messages.js';

/** The flag a forked process is started with: it is a member of this primary's cluster. */
export const MEMBER_FLAG = '--cluster-member';

export interface SupervisorOptions {
  readonly count: number;
  readonly logger: Logger;
  /** After a stop was asked, how long the processes may take before the rest are killed. */
  readonly stopBoundMs: number;
  readonly restart?: RestartPolicy;
}

interface Exit {
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: string | null;
}

interface Slot {
  readonly index: number;
  worker?: Worker;
  startedAt: number;
  ready: boolean;
  crashes: number;
  restart?: NodeJS.Timeout;
}

/** Runs the primary until every process has stopped; resolves with the primary's exit code. */
export function supervise(options: SupervisorOptions): Promise<number> {
  return new Supervisor(options).run();
}

class Supervisor {
  readonly #slots: Slot[];
  readonly #logger: Logger;
  readonly #policy: RestartPolicy;
  /** Set once every process has started; before that a death is a failed start-up, not a crash. */
  #running = false;
  #stopping = false;
  #exitCode = 0;
  #finish!: (code: number) => void;
  readonly #finished = new Promise<number>((resolve) => (this.#finish = resolve));
  #killTimer: NodeJS.Timeout | undefined;
  readonly #aggregator = new AggregatorRegistry();
  #gathering: Promise<string> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.#slots = Array.from({ length: options.count }, (_, index) => ({ index, startedAt: 0, ready: false, crashes: 0 }));
    this.#logger = options.logger;
    this.#policy = options.restart ?? RESTART_POLICY;
  }

  async run(): Promise<number> {
    // The same command, file and flags, marked as a member so it runs the app instead of forking.
    cluster.setupPrimary({ args: [...process.argv.slice(2), MEMBER_FLAG] });
    cluster.on('message', (worker, message) => this.#onMessage(worker, message));
    process.on('SIGTERM', () => this.#stop('SIGTERM'));
    process.on('SIGINT', () => this.#stop('SIGINT'));
    this.#logger.info({ processes: this.options.count }, `starting ${this.options.count} processes`);

    const [first, ...rest] = this.#slots;
    if (first === undefined) return 0;
    const firstFailed = await this.#fork(first);
    // Stopped while starting: the signal's stop is under way, whatever the processes did.
    if (this.#stopping) return this.#finished;
    if (firstFailed !== undefined) return this.#failedStart(firstFailed);
    const failures = (await Promise.all(rest.map((slot) => this.#fork(slot)))).filter((exit) => exit !== undefined);
    if (this.#stopping) return this.#finished;
    if (failures[0] !== undefined) return this.#failedStart(failures[0]);
    this.#running = true;
    const pids = this.#slots.map((slot) => slot.worker?.process.pid);
    this.#logger.info({ processes: this.options.count, pids }, `all ${this.options.count} processes ready`);
    return this.#finished;
  }

  /** Starts a process in `slot`; resolves when it is ready, or with its exit when it died first. */
  #fork(slot: Slot): Promise<Exit | undefined> {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    return new Promise((resolve) => {
      worker.once('openhqm:ready', () => {
        slot.ready = true;
        if (this.#running) this.#logger.info({ child_pid: worker.process.pid, slot: slot.index }, `replacement process ${worker.process.pid ?? '?'} ready`);
        resolve(undefined);
      });
      worker.once('exit', (code: number | null, signal: string | null) => {
        const exit = { pid: worker.process.pid, code, signal };
        const wasReady = slot.ready;
        if (slot.worker === worker) slot.worker = undefined;
        if (!wasReady) resolve(exit);
        this.#onExit(slot, exit, wasReady);
      });
    });
  }

  #onExit(slot: Slot, exit: Exit, wasReady: boolean): void {
    if (this.#stopping) {
      // What decides the exit code is how the stop went; a crash before it was already replaced.
      if (exit.code !== 0) this.#exitCode = 1;
      this.#logger.info({ ...fieldsOf(exit), slot: slot.index }, 'process stopped');
      this.#finishIfAllStopped();
      return;
    }
    if (!this.#running) return; // A failed start-up: run() reports it and stops the others.
    slot.crashes = crashesInARow(slot.crashes, Date.now() - slot.startedAt, this.#policy);
    const delayMs = restartDelayMs(slot.crashes, this.#policy);
    const how = exit.signal === null ? `with code ${exit.code ?? 'none'}` : `on ${exit.signal}`;
    const fields = { ...fieldsOf(exit), slot: slot.index, crashes_in_a_row: slot.crashes, restart_in_ms: delayMs, was_ready: wasReady };
    this.#logger.error(fields, `process ${exit.pid ?? '?'} exited ${how}; starting a replacement in ${delayMs} ms`);
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!this.#stopping) void this.#fork(slot);
    }, delayMs);
  }

  /** A process died before it was ready: stop the others and exit with its code (2: start-up refused). */
  async #failedStart(exit: Exit): Promise<number> {
    const code = exit.code !== null && exit.code > 0 ? exit.code : 1;
    this.#logger.error(fieldsOf(exit), `process ${exit.pid ?? '?'} exited before it was ready (${exit.signal ?? `code ${exit.code ?? 'none'}`}); stopping the others`);
    this.#stopAll('SIGTERM');
    await this.#finished;
    return code;
  }

  #stop(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      this.#logger.warn({ signal }, 'second signal: killing every process without waiting');
      for (const slot of this.#slots) slot.worker?.process.kill('SIGKILL');
      this.#finish(128 + (constants.signals[signal] ?? 1));
      return;
    }
    this.#logger.info({ signal }, 'signal received: stopping every process gracefully (send it again to force)');
    this.#stopAll(signal);
  }

  /** Asks every process to stop gracefully; `#finished` resolves once all have exited. */
  #stopAll(signal: NodeJS.Signals): void {
    const live = this.#slots.flatMap((slot) => (slot.worker === undefined ? [] : [{ slot, worker: slot.worker }]));
    this.#stopping = true;
    for (const slot of this.#slots) clearTimeout(slot.restart);
    for (const { slot, worker } of live) {
      // A ready process stops by message, so a terminal's Ctrl-C, which reaches it too, is not
      // taken for a second signal; one still starting has no handler yet and takes the signal.
      if (slot.ready && worker.isConnected()) worker.send({ type: 'openhqm:stop', signal } satisfies StopMessage);
      else worker.process.kill('SIGTERM');
    }
    this.#killTimer = setTimeout(() => {
      const left = this.#slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]));
      this.#logger.error({ stop_bound_ms: this.options.stopBoundMs, pids: left.map((w) => w.process.pid) }, 'processes still running after the stop bound; killing them');
      for (const worker of left) worker.process.kill('SIGKILL');
    }, this.options.stopBoundMs);
    this.#killTimer.unref();
    this.#finishIfAllStopped();
  }

  #finishIfAllStopped(): void {
    if (!this.#stopping || this.#slots.some((slot) => slot.worker !== undefined)) return;
    clearTimeout(this.#killTimer);
    this.#logger.info({ code: this.#exitCode }, 'every process stopped');
    this.#finish(this.#exitCode);
  }

  #onMessage(worker: Worker, message: unknown): void {
    if (!isToPrimary(message)) return;
    if (message.type === 'openhqm:ready') {
      worker.emit('openhqm:ready');
      return;
    }
    // One gathering at a time, shared by the scrapes that arrive while it runs: N processes
    // are asked once per gathering, however many scrapers there are.
    const reply = (answer: MetricsReply): void => {
      if (worker.isConnected()) worker.send(answer);
    };
    this.#gathering ??= this.#aggregator.clusterMetrics().finally(() => (this.#gathering = undefined));
    this.#gathering.then(
      (text) => reply({ type: 'openhqm:metrics-reply', id: message.id, text }),
      (error: unknown) => reply({ type: 'openhqm:metrics-reply', id: message.id, error: (error as Error).message }),
    );
  }
}

/** An exit as log fields: the child's pid under its own name, not the primary's `pid`. */
function fieldsOf(exit: Exit): Record<string, unknown> {
  return { child_pid: exit.pid, code: exit.code, signal: exit.signal };
}

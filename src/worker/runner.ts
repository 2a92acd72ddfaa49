/**
 * The worker pool of one process: consumes the request queue — or each named queue it serves,
 * sharing `worker.count` slots among them by weight (slots.ts, D105/D106) — keeps each
 * delivery's visibility extended while it runs or waits for a slot (the heartbeat), and shuts
 * down in order — stop taking work, hand back what never got a slot, let in-flight work finish
 * within the grace period, then hand back what is left for another worker to redeliver.
 *
 * States: created → running → stopping → stopped.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHqmError } from '../core/errors.js';
import type { HqmEvents } from '../core/events.js';
import type { FusedBackend } from '../ports/fused.js';
import type { Logger } from '../ports/logger.js';
import type { Delivery, QueueBackend, Subscription } from '../ports/queue-backend.js';
import type { RecordChange, ResultStore } from '../ports/result-store.js';
import type { Tracing } from '../ports/tracing.js';
import { DEFAULT_QUEUE } from '../core/request/envelope.js';
import { CancelAbort, runAttempt, ShutdownAbort, type AttemptDeps, type AttemptProgress } from './attempt.js';
import type { FollowUps } from './chain.js';
import type { Processor } from './processor.js';
import type { RetryPolicy } from './retry-policy.js';
import { WeightedSlots, type QueueShare, type ReleaseSlot } from './slots.js';
import { TenantBackoff } from './tenant-backoff.js';

/** One named queue the pool serves (`queues.<name>` in the configuration). */
export interface WorkerQueue extends QueueShare {
  /** The backend queue (topic, stream) its messages are in (core/queues.ts). */
  readonly backendQueue: string;
  /** The queue's own retry policy and default deadline; the pool's when absent. */
  readonly retry?: RetryPolicy;
  readonly defaultTimeoutSeconds?: number;
}

export interface WorkerOptions {
  /** The backend queue of `default` when `queues` is absent. */
  readonly queueName: string;
  /** Slots of the process: deliveries running at once, across every queue it serves. */
  readonly concurrency: number;
  /** The queues served and their shares of the slots; absent: `queueName` alone, as `default`. */
  readonly queues?: readonly WorkerQueue[];
  readonly visibilityTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly workerId: string;
  readonly retry: RetryPolicy;
  readonly defaultTimeoutSeconds: number;
  /** Lifetime of records the worker creates itself (for bare messages of outside producers). */
  readonly ttlMs: number;
  /**
   * Keys the ids of outside producers' bare messages: `queue.id_secret`, or the queue's
   * deploymentSecret(). Every process of a deployment must use the same one; when unset (a
   * test, one process) the pool makes its own.
   */
  readonly idSecret?: string;
  /** Largest result stored, as JSON bytes (`worker.max_result_bytes`); 16 MiB when unset. */
  readonly maxResultBytes?: number;
  /** Most requests of a tenant PROCESSING at once across every worker sharing the store; null: no limit. */
  readonly tenantLimit?: (tenant: string | null) => number | null;
  /** Runs before the message of a terminal record is settled (the webhook enqueuer); see AttemptDeps.onTerminal. */
  readonly onTerminal?: AttemptDeps['onTerminal'];
  /** Whether onTerminal has anything to do for a request; see AttemptDeps.onTerminalWants. */
  readonly onTerminalWants?: AttemptDeps['onTerminalWants'];
}

export interface WorkerDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  /** The fused fast path where queue and store share one server; absent: the two ports. */
  readonly fused?: FusedBackend;
  readonly processor: Processor;
  readonly events: HqmEvents;
  readonly logger: Logger;
  /** Submits follow-ups of completed requests (metadata.then); without it `then` is ignored. */
  readonly followUps?: FollowUps;
  /** Spans of attempts (D201); undefined while tracing is off. */
  readonly tracing?: Tracing;
}

type PoolState = 'created' | 'running' | 'stopping' | 'stopped';

/** After the grace period, how long released work may take to be handed back. */
const RELEASE_TIMEOUT_MS = 10_000;
/** Back-off while the store or the queue cannot be reached, so a worker does not spin. */
const OUTAGE_BACKOFF_MS = { first: 250, max: 15_000 };

export class WorkerPool {
  #state: PoolState = 'created';
  readonly #subscriptions: Subscription[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #active = new Map<Delivery, { controller: AbortController; done: Promise<void>; progress: AttemptProgress }>();
  /** Delivered, waiting for a slot: extended by the heartbeat, handed back uncounted at stop. */
  readonly #waiting = new Map<Delivery, AbortController>();
  readonly #queues: readonly WorkerQueue[];
  readonly #slots: WeightedSlots;
  /** Per queue: the attempt dependencies with its overrides. */
  readonly #queueDeps = new Map<string, AttemptDeps>();
  #unwatchCancels: (() => void) | undefined;
  /** Settlements still in flight; stop() waits for them before the backends close. */
  readonly #settling = new Set<Promise<void>>();
  readonly #attemptDeps: AttemptDeps;
  #outages = 0;
  /** Aborted by stop(): an outage back-off in progress ends at once instead of holding up the drain. */
  readonly #stopping = new AbortController();

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {
    this.#attemptDeps = {
      store: deps.store,
      fused: deps.fused,
      processor: deps.processor,
      events: deps.events,
      logger: deps.logger,
      queueName: options.queueName,
      workerId: options.workerId,
      // The store lease of a claim lasts as long as the broker's visibility, and the same heartbeat renews both.
      leaseMs: options.visibilityTimeoutMs,
      delays: deps.queue.capabilities.delays,
      retry: options.retry,
      defaultTimeoutSeconds: options.defaultTimeoutSeconds,
      ttlMs: options.ttlMs,
      idSecret: options.idSecret ?? randomBytes(32).toString('hex'),
      maxResultBytes: options.maxResultBytes,
      settle: (settlement) => this.#track(settlement),
      tenantLimit: options.tenantLimit,
      tenantBackoff: new TenantBackoff(),
      followUps: deps.followUps,
      onTerminal: options.onTerminal,
      tracing: deps.tracing,
      onTerminalWants: options.onTerminalWants,
    };
    this.#queues = options.queues ?? [{ name: DEFAULT_QUEUE, backendQueue: options.queueName, weight: 1, concurrency: null }];
    this.#slots = new WeightedSlots(options.concurrency, this.#queues);
    for (const q of this.#queues) {
      this.#queueDeps.set(q.name, {
        ...this.#attemptDeps,
        queueName: q.backendQueue,
        queue: q.name,
        retry: q.retry ?? options.retry,
        defaultTimeoutSeconds: q.defaultTimeoutSeconds ?? options.defaultTimeoutSeconds,
      });
    }
  }

  get state(): PoolState {
    return this.#state;
  }

  get active(): number {
    return this.#active.size;
  }

  start(): void {
    if (this.#state !== 'created') throw new Error(`cannot start a worker pool that is ${this.#state}`);
    this.#state = 'running';
    // Subscribed for the pool's whole life, not per attempt: a Redis subscription takes a round
    // trip to be live, and a cancel landing in that gap would never reach the processor.
    this.#unwatchCancels = this.deps.store.onChange(this.#onRecordChange);
    const { concurrency, visibilityTimeoutMs } = this.options;
    for (const q of this.#queues) {
      const gate = { limit: () => this.#slots.holdLimit(q.name), onRaise: (wake: () => void) => this.#slots.onRaise(q.name, wake) };
      const cap = Math.min(concurrency, q.concurrency ?? concurrency);
      this.#subscriptions.push(this.deps.queue.consume(q.backendQueue, { concurrency: cap, visibilityTimeoutMs, gate }, this.#handler(q.name)));
    }
    // Ref'd on purpose: in a worker-only process this timer is what keeps the process alive.
    this.#heartbeat = setInterval(this.#beat, Math.max(250, Math.floor(visibilityTimeoutMs / 3)));
    this.#beat();
    const queues = this.#queues.map((q) => q.backendQueue);
    this.deps.logger.info({ queue: queues.length === 1 ? queues[0] : queues, concurrency, worker_id: this.options.workerId }, 'worker pool started');
  }

  /** Graceful stop; resolves when nothing is in flight any more. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'created') {
      this.#state = 'stopped';
      return;
    }
    if (this.#state === 'stopping') return this.#drained();
    this.#state = 'stopping';
    this.#stopping.abort();
    await Promise.all(this.#subscriptions.map((s) => s.stop()));
    // Never started: back to the queue at once, uncounted, for a worker that can run them now.
    for (const controller of this.#waiting.values()) controller.abort(new ShutdownAbort());
    const inFlight = this.#active.size;
    if (inFlight > 0) this.deps.logger.info({ in_flight: inFlight, grace_ms: this.options.shutdownGraceMs }, 'waiting for in-flight requests');
    const finished = await settleWithin(this.#drained(), this.options.shutdownGraceMs);
    if (!finished) {
      this.deps.logger.warn({ released: this.#active.size }, 'grace period over: releasing unfinished requests for redelivery');
      for (const { controller } of this.#active.values()) controller.abort(new ShutdownAbort());
      await settleWithin(this.#drained(), RELEASE_TIMEOUT_MS);
    }
    await settleWithin(Promise.all([...this.#settling]), RELEASE_TIMEOUT_MS);
    clearInterval(this.#heartbeat);
    this.#unwatchCancels?.();
    this.#state = 'stopped';
    this.deps.logger.info({}, 'worker pool stopped');
  }

  /** A request this process is running was cancelled (here or in another process): abort its attempt. */
  readonly #onRecordChange = (change: RecordChange): void => {
    if (change.status !== 'CANCELLED') return;
    for (const { controller, progress } of this.#active.values()) {
      if (progress.id === change.id && !controller.signal.aborted) controller.abort(new CancelAbort());
    }
  };

  /** The delivery handler of one queue: wait for a slot (by weight, within the queue's cap), then run. */
  #handler(queue: string): (delivery: Delivery) => Promise<void> {
    const deps = this.#queueDeps.get(queue) as AttemptDeps;
    return async (delivery) => {
      const controller = new AbortController();
      this.#waiting.set(delivery, controller);
      let release: ReleaseSlot;
      try {
        release = await this.#slots.acquire(queue, controller.signal);
      } catch {
        this.#track(delivery.release());
        return;
      } finally {
        this.#waiting.delete(delivery);
      }
      try {
        await this.#handle(deps, delivery, controller);
      } finally {
        release();
      }
    };
  }

  async #handle(deps: AttemptDeps, delivery: Delivery, controller: AbortController): Promise<void> {
    const progress: AttemptProgress = { claimed: false };
    const done = this.#attempt(deps, delivery, controller, progress);
    this.#active.set(delivery, { controller, done, progress });
    this.deps.events.emit('worker:busy', { active: this.#active.size });
    try {
      await done;
    } finally {
      this.#active.delete(delivery);
      this.deps.events.emit('worker:busy', { active: this.#active.size });
    }
  }

  async #attempt(deps: AttemptDeps, delivery: Delivery, controller: AbortController, progress: AttemptProgress): Promise<void> {
    try {
      await runAttempt(deps, delivery, controller, progress);
      this.#outages = 0;
    } catch (error) {
      await this.#onInfrastructureError(delivery, error, progress);
    }
  }

  /**
   * The store or the queue failed under us. Hold the slot for a growing back-off (so the
   * consumer does not spin through the queue while a dependency is down), then give the
   * delivery back uncounted by the broker. If this attempt had claimed the record, it first
   * tries to hand the record back too (PROCESSING → PENDING, the attempt counted: it may have
   * run), so the redelivery can claim it at once; should the store still be down, the record's
   * lease lapses and the redelivery takes it over then as the next attempt (D130). If even the
   * release fails, the visibility timeout brings the message back.
   */
  async #onInfrastructureError(delivery: Delivery, error: unknown, progress: AttemptProgress): Promise<void> {
    this.#outages += 1;
    const wait = Math.min(OUTAGE_BACKOFF_MS.max, OUTAGE_BACKOFF_MS.first * 2 ** Math.min(this.#outages - 1, 10));
    const unavailable = isHqmError(error) && error.code === 'HQM_ERR_BACKEND_UNAVAILABLE';
    this.deps.logger.error({ err: error, message_id: delivery.messageId, retry_in_ms: wait }, unavailable ? 'backend unavailable while handling a delivery' : 'unexpected error while handling a delivery');
    // Aborted by stop(): resolves (never rejects) at once, and the delivery is handed back now.
    await sleep(wait, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
    if (progress.claimed && progress.id !== undefined && progress.attempt !== undefined) {
      const { id, attempt } = progress;
      await this.deps.store.transition({ id, from: ['PROCESSING'], to: 'PENDING', attempt, error: 'handed back after a backend failure' }).catch(() => undefined);
    }
    await delivery.release().catch((cause: unknown) => {
      // Not lost: the visibility timeout brings the message back; but an operator should know why it is late.
      this.deps.logger.warn({ err: cause, message_id: delivery.messageId, claimed: progress.claimed }, 'could not hand a delivery back after a backend failure; it returns when its visibility timeout lapses');
    });
  }

  #track(settlement: Promise<void>): void {
    const tracked = settlement.catch((error: unknown) => {
      // The outcome is stored; an unsettled message comes back after its visibility timeout
      // and is then acknowledged as already finished.
      this.deps.logger.warn({ err: error }, 'could not settle a delivery; it will be redelivered and acknowledged');
    });
    this.#settling.add(tracked);
    void tracked.finally(() => this.#settling.delete(tracked));
  }

  readonly #beat = (): void => {
    const at = Date.now();
    this.deps.events.emit('worker:heartbeat', { at });
    for (const delivery of [...this.#active.keys(), ...this.#waiting.keys()]) {
      delivery.extend(this.options.visibilityTimeoutMs).catch((error: unknown) => {
        this.deps.logger.warn({ err: error, message_id: delivery.messageId }, 'could not extend a delivery; it may be redelivered');
      });
    }
    // The store's lease is what keeps a second copy from running (D130); the broker's is a hint.
    for (const { progress } of this.#active.values()) {
      if (!progress.claimed || progress.id === undefined || progress.attempt === undefined) continue;
      const { id, attempt } = progress;
      this.deps.store.renewLease(id, attempt, this.options.visibilityTimeoutMs).then(
        (held) => {
          // Finished or cancelled meanwhile (then nothing is wrong), or taken over after this lease lapsed: the run's result will lose its compare-and-set.
          if (!held) this.deps.logger.debug({ correlation_id: id, attempt }, 'lease not renewed: the record is no longer held by this attempt');
        },
        (error: unknown) => this.deps.logger.warn({ err: error, correlation_id: id }, 'could not renew a lease; another worker may take the request over once it lapses'),
      );
    }
  };

  #drained(): Promise<void> {
    return Promise.all([...this.#active.values()].map((a) => a.done)).then(() => undefined);
  }
}

/** Resolves true if `work` settles within `ms`, false otherwise. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

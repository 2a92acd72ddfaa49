/**
 * The load every outage test puts on a gateway: a number of loops submitting one request each
 * at a time, counting what came back — accepted ids with the token each carried, refusals by
 * status, 503s without Retry-After, and submissions that hung (no answer within 10 s). A test
 * drives it in phases (before, during, after the outage) and then checks the counts and that
 * every accepted request finished with its own token.
 */
import { expect } from 'vitest';
import { finished, getJson } from './cli.js';

export interface SubmissionLoadOptions {
  /** Loops submitting at once. */
  readonly concurrency: number;
  /** The payload of the n-th submission; by default an echo of its token, which the result must carry. */
  readonly payload?: (token: string) => unknown;
  /** How long a submission may go unanswered before it counts as hung (10 s). */
  readonly timeoutMs?: number;
}

export class SubmissionLoad {
  /** correlation id → the token its submission carried. */
  readonly accepted = new Map<string, string>();
  readonly refusals = new Map<number, number>();
  /** Submissions sent so far, answered or not. */
  sent = 0;
  withoutRetryAfter = 0;
  hung = 0;
  readonly #payload: (token: string) => unknown;

  constructor(
    private readonly url: string,
    private readonly options: SubmissionLoadOptions,
  ) {
    this.#payload = options.payload ?? ((token) => ({ operation: 'echo', data: token }));
  }

  /** Submits from every loop until `until()` holds (checked before each submission). */
  async run(until: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: this.options.concurrency }, async () => {
        while (!until()) await this.#submitOne();
      }),
    );
  }

  refused(status: number): number {
    return this.refusals.get(status) ?? 0;
  }

  /** What an outage may cost a client: a 503 with Retry-After, never another status, never a hang. */
  expectOnlyRetryableRefusals(): void {
    expect([...this.refusals.keys()].filter((status) => status !== 503)).toEqual([]);
    expect(this.withoutRetryAfter).toBe(0);
    expect(this.hung).toBe(0);
  }

  /**
   * Every accepted request completed with the output of its own echo, `batch` polled at a time;
   * with `once`, its events trail also shows a single COMPLETED (it ran to the end exactly once).
   */
  async expectEachCompleted(timeoutMs: number, { batch = 1, once = false }: { batch?: number; once?: boolean } = {}): Promise<void> {
    const entries = [...this.accepted];
    for (let i = 0; i < entries.length; i += batch) {
      await Promise.all(
        entries.slice(i, i + batch).map(async ([id, token]) => {
          expect(await finished(this.url, id, timeoutMs), id).toMatchObject({ status: 'COMPLETED', result: { output: token } });
          if (!once) return;
          const trail = await getJson(`${this.url}/api/v1/requests/${id}/events`);
          expect((trail.body.events as Array<{ to: string }>).filter((e) => e.to === 'COMPLETED'), id).toHaveLength(1);
        }),
      );
    }
  }

  async #submitOne(): Promise<void> {
    const token = `token-${this.sent}`;
    this.sent += 1;
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/submit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload: this.#payload(token) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch {
      this.hung += 1;
      return;
    }
    if (res.status === 202) {
      this.accepted.set(((await res.json()) as { correlation_id: string }).correlation_id, token);
      return;
    }
    this.refusals.set(res.status, this.refused(res.status) + 1);
    if (res.status === 503 && res.headers.get('retry-after') === null) this.withoutRetryAfter += 1;
    await res.body?.cancel();
  }
}

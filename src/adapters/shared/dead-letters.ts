/**
 * How long and how many dead letters every queue backend keeps, per queue: `queue.dead_letter_retention_seconds`
 * and `queue.dead_letter_max`. A dead letter holds the whole request (its body, its headers), so
 * an unbounded dead-letter store is a disk or memory leak and a pile of captured credentials.
 *
 * @module
 */
import { z } from 'zod';

export const deadLetterOptionsSchema = z.object({
  /** Dead letters older than this are dropped (7 days by default). */
  dead_letter_retention_seconds: z.number().int().min(1).default(604_800),
  /** At most this many dead letters per queue; the oldest go first. */
  dead_letter_max: z.number().int().min(1).default(10_000),
});

export interface DeadLetterBounds {
  readonly retentionMs: number;
  readonly max: number;
}

export const DEFAULT_DEAD_LETTER_BOUNDS: DeadLetterBounds = { retentionMs: 604_800_000, max: 10_000 };

export function deadLetterBounds(options: z.infer<typeof deadLetterOptionsSchema>): DeadLetterBounds {
  return { retentionMs: options.dead_letter_retention_seconds * 1000, max: options.dead_letter_max };
}

/** Dead letters from before this instant (epoch ms, never negative) are past their retention. */
export function deadLetterCutoff(now: number, bounds: DeadLetterBounds): number {
  return Math.max(0, now - bounds.retentionMs);
}

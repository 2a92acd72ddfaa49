/**
 * What one OpenHQM queue is on the broker (D221), and the ladder of delay tiers (D222). Pure.
 *
 * A queue `Q` is:
 * - one quorum queue per priority band: `Q` itself for priorities below the first band (so an
 *   outside producer writes to `Q` as it would to any queue), then `Q:p5`, `Q:p9`, …;
 * - one quorum queue per delay tier, `Q:delay:<ms>`, whose messages expire after exactly that
 *   long and are dead-lettered (at least once) through the headers exchange `openhqm:due` back to
 *   the band queue named in their `hqm-to` header;
 * - one stream, `Q:dead`, that holds its dead letters (and the removals, purges and replays of
 *   them) in order.
 *
 * `:` appears in no queue name OpenHQM derives (request_queue_name and named queues allow letters,
 * digits, `.`, `_` and `-`), so these names never collide with another queue's.
 *
 * @module
 */

/** The shortest delay tier: delays are kept to this step, never ending early. */
export const DELAY_STEP_MS = 100;
/** Each tier is this many times the one before: a wait takes at most three hops of each tier. */
const TIER_FACTOR = 4;
/** 100 ms … 100 ms × 4^12 (about 19.4 days). */
const TIER_COUNT = 13;

export const TIERS_MS: readonly number[] = Array.from({ length: TIER_COUNT }, (_, k) => DELAY_STEP_MS * TIER_FACTOR ** k);

/**
 * The tier a message still `remainingMs` from due waits in next: the longest not longer than
 * what remains (so it never arrives early), or the shortest when less than that remains.
 */
export function tierFor(remainingMs: number): number {
  let chosen = TIERS_MS[0] as number;
  for (const tier of TIERS_MS) if (tier <= remainingMs) chosen = tier;
  return chosen;
}

export interface Band {
  /** The lowest priority the band takes. */
  readonly min: number;
  readonly queue: string;
}

export interface Topology {
  /** Ascending by `min`; the first has min 0 and is the queue's own name. */
  readonly bands: readonly Band[];
  readonly tiers: ReadonlyArray<{ readonly ms: number; readonly queue: string }>;
  readonly dead: string;
}

export function topologyOf(prefix: string, queue: string, bandMins: readonly number[]): Topology {
  const base = `${prefix}${queue}`;
  return {
    bands: [{ min: 0, queue: base }, ...bandMins.filter((min) => min > 0).map((min) => ({ min, queue: `${base}:p${min}` }))],
    tiers: TIERS_MS.map((ms) => ({ ms, queue: `${base}:delay:${ms}` })),
    dead: `${base}:dead`,
  };
}

/** Index in `topology.bands` of the band that takes `priority`. */
export function bandIndex(topology: Topology, priority: number): number {
  let index = 0;
  topology.bands.forEach((band, i) => {
    if (priority >= band.min) index = i;
  });
  return index;
}

export function tierQueue(topology: Topology, ms: number): string {
  const tier = topology.tiers.find((t) => t.ms === ms);
  if (tier === undefined) throw new RangeError(`no delay tier of ${ms} ms`);
  return tier.queue;
}

/** The headers exchange tiers dead-letter through, one per prefix. */
export function dueExchange(prefix: string): string {
  return `${prefix}openhqm:due`;
}

/** The stream that keeps the deployment secret (its first message is the secret). */
export function secretStream(prefix: string): string {
  return `${prefix}openhqm:secret`;
}

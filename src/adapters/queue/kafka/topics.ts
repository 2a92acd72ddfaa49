/**
 * Which topics a queue uses and how a delay travels through them. Pure.
 *
 * A queue `q` is the topic `q` itself (an outside producer writes there), its delay tiers
 * `q.retry.0` … `q.retry.<n-1>` and its dead-letter topic `q.dlt`. Tier `i` holds every message
 * for exactly 1 s × 4^i, so within one tier's partition the due times follow publish order and
 * the tier's consumer only ever waits on the head (it pauses the partition until then). A delay
 * is split greedily into tier hops, largest first: 2 s is two hops of tier 0, 90 s is tier 3
 * (64 s), then tier 2 (16 s) and tier 1 (4 s) twice … at most 3 hops per tier below the top.
 *
 * @module
 */

/** A delay is honoured in whole seconds, rounded up. */
export const DELAY_STEP_MS = 1000;
const TIER_BASE = 4;

export function tierTopic(queue: string, tier: number): string {
  return `${queue}.retry.${tier}`;
}

export function deadLetterTopic(queue: string): string {
  return `${queue}.dlt`;
}

/** Where the deployment secret is kept: one partition, first record wins. */
export function secretTopic(groupId: string): string {
  return `${groupId}.deployment-secret`;
}

export function tierTopics(queue: string, tiers: number): string[] {
  return Array.from({ length: tiers }, (_, i) => tierTopic(queue, i));
}

/** How long tier `tier` holds a message. */
export function tierDelayMs(tier: number): number {
  return DELAY_STEP_MS * TIER_BASE ** tier;
}

/** A delay as the backend honours it: whole steps, rounded up; 0 for none. */
export function roundDelay(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs <= 0) return 0;
  return Math.ceil(delayMs / DELAY_STEP_MS) * DELAY_STEP_MS;
}

export interface Hop {
  readonly tier: number;
  /** What is left to wait after this hop (ms, whole steps). */
  readonly restMs: number;
}

/** The next hop of a delay of `delayMs` (rounded up to whole steps), or undefined when nothing is left to wait. */
export function nextHop(delayMs: number, tiers: number): Hop | undefined {
  const total = roundDelay(delayMs);
  if (total === 0) return undefined;
  let tier = 0;
  while (tier + 1 < tiers && tierDelayMs(tier + 1) <= total) tier += 1;
  return { tier, restMs: total - tierDelayMs(tier) };
}

/** Every topic of a queue. */
export function queueTopics(queue: string, tiers: number): string[] {
  return [queue, ...tierTopics(queue, tiers), deadLetterTopic(queue)];
}

/**
 * The keys of one queue. Every key carries the queue name as its hash tag (`{name}`), so in a
 * Redis Cluster the whole queue lives in one slot and every Lua script touches one node:
 *
 *   <prefix>:q:{<queue>}:s:<band>   stream per priority band 0–9, consumer group `openhqm`
 *   <prefix>:q:{<queue>}:leases     zset "<band>:<entry id>" → visibility deadline (ms)
 *   <prefix>:q:{<queue>}:delayed    zset uid → due time (ms), delayed publishes and retries
 *   <prefix>:q:{<queue>}:delayed:m  hash uid → the delayed message (band and stream fields)
 *   <prefix>:q:{<queue>}:dead       dead-letter stream, capped with MAXLEN ~
 *   <prefix>:q:{<queue>}:heads      hash partition key → message id of the key's head
 *   <prefix>:q:{<queue>}:p:<key>    list: the messages of one partition key waiting behind its head
 *   <prefix>:q:{<queue>}:held       zset message id → due time (ms) of every message in those lists
 *
 * The per-key lists are named after the partition key, but after the hash tag, so they stay in
 * the queue's slot whatever the key holds (decision D26).
 *
 * Queue names cannot hold `{` or `}` (the configuration refuses them), so the tag is the
 * whole name.
 *
 * @module
 */
import { PRIORITY_MAX } from '../../../core/request/envelope.js';

export const BANDS = PRIORITY_MAX + 1;

export interface QueueKeys {
  /** Index = priority band. */
  readonly streams: readonly string[];
  readonly leases: string;
  readonly delayed: string;
  readonly delayedData: string;
  readonly dead: string;
  readonly heads: string;
  readonly held: string;
  /** The list of messages of `partitionKey` waiting behind its head. */
  partition(partitionKey: string): string;
  /** KEYS of the claim script: streams 0–9, leases, delayed, delayed data. */
  readonly claim: readonly string[];
  /** KEYS of the stats script: streams 0–9, leases, delayed, dead letters, held. */
  readonly stats: readonly string[];
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:q:{${queue}}`;
  const streams = Array.from({ length: BANDS }, (_, band) => `${base}:s:${band}`);
  const keys = {
    leases: `${base}:leases`,
    delayed: `${base}:delayed`,
    delayedData: `${base}:delayed:m`,
    dead: `${base}:dead`,
    heads: `${base}:heads`,
    held: `${base}:held`,
  };
  return {
    streams,
    ...keys,
    partition: (partitionKey) => `${base}:p:${partitionKey}`,
    claim: [...streams, keys.leases, keys.delayed, keys.delayedData],
    stats: [...streams, keys.leases, keys.delayed, keys.dead, keys.held],
  };
}

/**
 * Publishing to a Redis queue: an immediate message without a partition key is one XADD to the
 * stream of its priority band (no script: it is the hot path, and as a plain command it keeps
 * its place in the pipeline behind the record the API wrote just before it); a delayed one waits
 * in the delayed zset until the claim script moves it to its band. A message with a partition
 * key goes through one script that makes it the key's head or queues it behind the head
 * (decision D26).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { OutboundMessage } from '../../../ports/queue-backend.js';
import type { RedisClient } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import type { QueueKeys } from './keys.js';
import type { QueueScripts } from './scripts.js';

export interface Published {
  readonly messageId: string;
  /** When it can be delivered (epoch ms); undefined while it waits behind the head of its key. */
  readonly visibleAt: number | undefined;
}

export class RedisProducer {
  constructor(
    private readonly client: RedisClient,
    private readonly scripts: QueueScripts,
    private readonly maxMessageBytes: number,
  ) {}

  async publish(keys: QueueKeys, message: OutboundMessage): Promise<Published> {
    assertSize(message.body, this.maxMessageBytes);
    const band = clampPriority(message.priority);
    const now = Date.now();
    const delay = Math.max(0, message.delayMs ?? 0);
    const fields = ['b', message.body, 't', String(now)];
    const key = message.partitionKey ?? null;
    if (key !== null) return this.#publishKeyed(keys, key, band, now, now + delay, fields);
    if (delay === 0) {
      const id = await guarded('publishing a message', this.client.xadd(keys.streams[band] as string, '*', ...fields));
      return { messageId: id ?? '', visibleAt: now };
    }
    const uid = newUid();
    // A delayed message keeps this id through its promotion to a stream entry (field m).
    const messageId = `d-${uid}`;
    await guarded('scheduling a message', this.scripts.schedule([keys.delayed, keys.delayedData], [uid, now + delay, band, ...fields, 'm', messageId]));
    return { messageId, visibleAt: now + delay };
  }

  /** The id is chosen here because the message may reach a stream only much later, behind its key's head. */
  async #publishKeyed(keys: QueueKeys, key: string, band: number, now: number, due: number, fields: string[]): Promise<Published> {
    const messageId = `p-${newUid()}`;
    const scriptKeys = [keys.heads, keys.partition(key), keys.held, keys.streams[band] as string, keys.delayed, keys.delayedData];
    const head = await guarded('publishing a message', this.scripts.publishKeyed(scriptKeys, [key, messageId, due, now, band, ...fields, 'k', key, 'm', messageId]));
    return { messageId, visibleAt: head === 1 ? due : undefined };
  }
}

function newUid(): string {
  return randomBytes(9).toString('base64url');
}

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

/**
 * A publish ready to send: plain XADD to a band's stream, or one of the queue's scripts, with its
 * KEYS and ARGV; `published` reads the reply. Sent by `publish`, or inside a fused submit.
 */
export interface PublishPlan {
  readonly command: 'xadd' | 'schedule' | 'publishKeyed';
  readonly keys: readonly string[];
  readonly args: ReadonlyArray<string | number>;
  published(reply: unknown): Published;
}

export class RedisProducer {
  constructor(
    private readonly client: RedisClient,
    private readonly scripts: QueueScripts,
    private readonly maxMessageBytes: number,
  ) {}

  async publish(keys: QueueKeys, message: OutboundMessage): Promise<Published> {
    const plan = this.plan(keys, message);
    const reply =
      plan.command === 'xadd'
        ? await guarded('publishing a message', this.client.xadd(plan.keys[0] as string, '*', ...plan.args))
        : await guarded(plan.command === 'schedule' ? 'scheduling a message' : 'publishing a message', this.scripts[plan.command](plan.keys, plan.args));
    return plan.published(reply);
  }

  /** What `publish` sends for `message` (the size checked first). */
  plan(keys: QueueKeys, message: OutboundMessage): PublishPlan {
    assertSize(message.body, this.maxMessageBytes);
    const band = clampPriority(message.priority);
    const now = Date.now();
    const delay = Math.max(0, message.delayMs ?? 0);
    const fields = ['b', message.body, 't', String(now)];
    const key = message.partitionKey ?? null;
    if (key !== null) {
      // The id is chosen here because the message may reach a stream only much later, behind its key's head.
      const messageId = `p-${newUid()}`;
      const due = now + delay;
      return {
        command: 'publishKeyed',
        keys: [keys.heads, keys.partition(key), keys.held, keys.streams[band] as string, keys.delayed, keys.delayedData],
        args: [key, messageId, due, now, band, ...fields, 'k', key, 'm', messageId],
        published: (head) => ({ messageId, visibleAt: head === 1 ? due : undefined }),
      };
    }
    if (delay === 0) return { command: 'xadd', keys: [keys.streams[band] as string], args: fields, published: (id) => ({ messageId: typeof id === 'string' ? id : '', visibleAt: now }) };
    const uid = newUid();
    // A delayed message keeps this id through its promotion to a stream entry (field m).
    const messageId = `d-${uid}`;
    return {
      command: 'schedule',
      keys: [keys.delayed, keys.delayedData],
      args: [uid, now + delay, band, ...fields, 'm', messageId],
      published: () => ({ messageId, visibleAt: now + delay }),
    };
  }
}

function newUid(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * Dead letters in an SQS dead-letter queue (D245). SQS cannot list a queue, only receive from it,
 * so a read is a scan: every message is received with a short visibility, then given back (or
 * deleted, when past `dead_letter_retention_seconds` or beyond `dead_letter_max`). Scans of one
 * queue in this process run one at a time; a scan by another process at the same moment hides
 * what it holds from this one, so lists are best effort and the capability deadLetterBrowsing is
 * false: dead letters are listed and read, not removed or replayed one by one.
 *
 * @module
 */
import type { Message, MessageAttributeValue, ReceiveMessageCommandOutput } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { DeadLetter } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { MAX_RECEIVES, type SqsClient } from './client.js';
import { burialAttributes, burialOf, identityOf } from './wire.js';

/** How long a scan hides what it reads: longer than any scan takes. */
const SCAN_VISIBILITY_S = 30;
/** Most dead letters a scan reads (and so lists or counts exactly). */
const SCAN_LIMIT = 1000;
/** Up to this many, stats() counts by a scan (dropping what is past its bounds); above, it trusts SQS's approximate count. */
export const EXACT_COUNT_LIMIT = 100;

export interface Letter extends Omit<DeadLetter, 'body'> {
  readonly body: string;
  readonly sequence: number;
}

export class DeadLetterQueues {
  #sequence = 0;
  readonly #scans = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: SqsClient,
    private readonly bounds: DeadLetterBounds,
  ) {}

  /** Writes `message` to the dead-letter queue `dead` with why, then trims it to its bounds. */
  async bury(dead: string, message: Message, reason: string, attempts: number): Promise<void> {
    const deadLetteredAt = Date.now();
    const sequence = deadLetteredAt * 1000 + (this.#sequence++ % 1000);
    const kept = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).filter(([name]) => name.startsWith('hqm-') && !name.startsWith('hqm-dead') && name !== 'hqm-reason' && name !== 'hqm-attempts')) as Record<string, MessageAttributeValue>;
    const identity = identityOf(message);
    await this.client.call(
      'dead-lettering a message',
      new this.client.sdk.SendMessageCommand({
        QueueUrl: dead,
        MessageBody: message.Body ?? '',
        MessageAttributes: { ...kept, 'hqm-id': { DataType: 'String', StringValue: identity.id }, ...burialAttributes({ reason, attempts, deadLetteredAt, sequence }) },
        // A group of its own per letter: one group would let a scan see only its head.
        ...(this.client.fifo ? { MessageGroupId: randomUUID(), MessageDeduplicationId: `${identity.id.slice(0, 64)}-${sequence}` } : {}),
      }),
    );
    if ((await this.approximate(dead)) > this.bounds.max) await this.list(dead);
  }

  /** The live dead letters of `dead`, newest first (a scan that also drops what is past the bounds). */
  list(dead: string): Promise<Letter[]> {
    const previous = this.#scans.get(dead) ?? Promise.resolve();
    const scan = previous.catch(() => undefined).then(() => this.#scan(dead));
    this.#scans.set(dead, scan);
    void scan.finally(() => {
      if (this.#scans.get(dead) === scan) this.#scans.delete(dead);
    }).catch(() => undefined);
    return scan;
  }

  async count(dead: string): Promise<number> {
    const approximate = await this.approximate(dead);
    if (approximate === 0 || approximate > EXACT_COUNT_LIMIT) return approximate;
    return (await this.list(dead)).length;
  }

  async approximate(dead: string): Promise<number> {
    const attributes = await this.client.attributes(dead, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
    return Number(attributes.ApproximateNumberOfMessages ?? 0) + Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  async #scan(dead: string): Promise<Letter[]> {
    const held: Array<{ message: Message; letter: Letter }> = [];
    const seen = new Set<string>();
    try {
      while (held.length < SCAN_LIMIT) {
        const answer = await this.client.call<ReceiveMessageCommandOutput>(
          'reading dead letters',
          new this.client.sdk.ReceiveMessageCommand({
            QueueUrl: dead,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: SCAN_VISIBILITY_S,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const fresh = (answer.Messages ?? []).filter((m) => m.MessageId !== undefined && !seen.has(m.MessageId));
        if (fresh.length === 0) break;
        for (const message of fresh) {
          seen.add(message.MessageId ?? '');
          held.push({ message, letter: letterOf(message) });
        }
      }
    } finally {
      // Whatever happens, what the scan hid is not left hidden for its whole visibility.
      const cutoff = deadLetterCutoff(Date.now(), this.bounds);
      held.sort((a, b) => b.letter.sequence - a.letter.sequence);
      const live = held.filter((h) => h.letter.deadLetteredAt >= cutoff);
      const drop = [...held.filter((h) => h.letter.deadLetteredAt < cutoff), ...live.slice(this.bounds.max)];
      const keep = live.slice(0, this.bounds.max);
      await Promise.all([this.#batch(dead, drop, 'delete'), this.#batch(dead, keep, 'show')]);
      held.splice(0, held.length, ...keep);
    }
    return held.map((h) => h.letter);
  }

  async #batch(dead: string, items: Array<{ message: Message }>, action: 'delete' | 'show'): Promise<void> {
    const { sdk } = this.client;
    for (let i = 0; i < items.length; i += 10) {
      const entries = items.slice(i, i + 10).map(({ message }, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle ?? '' }));
      await this.client.call(
        action === 'delete' ? 'dropping old dead letters' : 'giving dead letters back after a scan',
        action === 'delete'
          ? new sdk.DeleteMessageBatchCommand({ QueueUrl: dead, Entries: entries })
          : new sdk.ChangeMessageVisibilityBatchCommand({ QueueUrl: dead, Entries: entries.map((e) => ({ ...e, VisibilityTimeout: 0 })) }),
      );
    }
  }
}

/** A dead letter's id: its sequence (the order of dead letters, D245) and the SQS message id. */
export function letterId(sequence: number, messageId: string): string {
  return `${sequence}-${messageId}`;
}

/** The sequence of a dead-letter id; undefined when `id` is not one. */
export function sequenceOf(id: string): number | undefined {
  const match = /^(\d{1,20})-[A-Za-z0-9-]+$/.exec(id);
  return match === null ? undefined : Number(match[1]);
}

function letterOf(message: Message): Letter {
  const burial = burialOf(message, `moved by SQS's redrive policy after ${MAX_RECEIVES} receives`);
  return {
    id: letterId(burial.sequence, message.MessageId ?? ''),
    messageId: identityOf(message).id,
    body: message.Body ?? '',
    attempts: burial.attempts,
    reason: burial.reason,
    deadLetteredAt: burial.deadLetteredAt,
    sequence: burial.sequence,
  };
}

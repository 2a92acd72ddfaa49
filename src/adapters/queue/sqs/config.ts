/** Options of the SQS queue: `queue.sqs_region`, `queue.sqs_queue_url`, `queue.sqs_endpoint_url` and the queue's own settings. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';

/** What one SQS message may carry since August 2025 (1 MiB); queues the adapter creates are set to it. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

export const sqsQueueOptionsSchema = deadLetterOptionsSchema.extend({
  sqs_region: z.string().min(1, 'must name an AWS region').default('us-east-1'),
  /** The queue of `queue.request_queue_name`; empty: every queue is named after its OpenHQM name (names.ts). */
  sqs_queue_url: z
    .string()
    .refine((v) => v === '' || /^https?:\/\/[^/]+\/[^/]+\/[A-Za-z0-9_-]{1,80}(\.fifo)?\/?$/.test(v), 'must be an SQS queue URL: http(s)://host/<account>/<queue name>')
    .default(''),
  /** Another endpoint than AWS's (moto, LocalStack, a VPC endpoint); empty: the region's. */
  sqs_endpoint_url: z
    .string()
    .refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), 'must be an http:// or https:// URL')
    .default(''),
  /** How long one receive waits for a message (SQS long polling, 0–20 s): longer means fewer empty receives. */
  sqs_wait_seconds: z.number().int().min(0).max(20).default(20),
  request_queue_name: z.string().min(1).default('openhqm-requests'),
  /**
   * queue.max_message_bytes; unset: 256 KiB, the limit SQS had for years. The message attributes
   * (under 1 KiB) travel on top, so a queue needs MaximumMessageSize above the body's limit.
   */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .max(SQS_MAX_MESSAGE_BYTES - 4096, `must leave room for the message attributes within SQS's ${SQS_MAX_MESSAGE_BYTES} bytes`)
    .default(262_144),
});

export type SqsQueueOptions = z.infer<typeof sqsQueueOptionsSchema>;

/** Options of the RabbitMQ queue: `queue.rabbitmq_url`, the `rabbitmq:` section and the queue's own settings. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';

export const rabbitQueueOptionsSchema = deadLetterOptionsSchema.extend({
  rabbitmq_url: z
    .string()
    .regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL')
    .default('amqp://guest:guest@localhost:5672'),
  /** queue.max_message_bytes; unset: 16 MiB (the broker's own limit, max_message_size, must be at least this). */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** Put before every queue and exchange name this adapter declares, so deployments can share a virtual host. */
  prefix: z.string().default(''),
  /** The lowest priority of each band above 0: a band is a queue of its own (quorum queues have no priorities). */
  priority_bands: z
    .array(z.number().int().min(1).max(9))
    .default([5, 9])
    .transform((bands) => [...new Set(bands)].sort((a, b) => a - b)),
  /** The server's consumer_timeout: a delivery held longer than half of it is parked so the broker never closes the channel. */
  consumer_timeout_ms: z.number().int().min(1000).default(1_800_000),
  connect_timeout_ms: z.number().int().min(100).default(10_000),
  heartbeat_seconds: z.number().int().min(0).default(30),
});

export type RabbitQueueOptions = z.infer<typeof rabbitQueueOptionsSchema>;

/** Options of the Redis queue: `queue.redis_url` and `queue.max_message_bytes`, plus the `redis:` section. */
import { z } from 'zod';
import { redisConnectionSchema } from '../../shared/redis/options.js';

export const redisQueueOptionsSchema = redisConnectionSchema.extend({
  /** Largest message; Redis keeps every waiting message in memory. */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** The dead-letter stream is trimmed to about this many entries (XADD MAXLEN ~). */
  dead_letter_max_len: z.number().int().min(1).default(10_000),
});

export type RedisQueueOptions = z.infer<typeof redisQueueOptionsSchema>;

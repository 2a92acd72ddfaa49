/** Options of the Redis queue: `queue.redis_url` and `queue.max_message_bytes`, plus the `redis:` section. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';
import { redisConnectionSchema } from '../../shared/redis/options.js';

export const redisQueueOptionsSchema = redisConnectionSchema.extend(deadLetterOptionsSchema.shape).extend({
  /** Largest message; Redis keeps every waiting message in memory. */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** Deprecated alias of `queue.dead_letter_max`, which it overrides when set. */
  dead_letter_max_len: z.number().int().min(1).nullish(),
});

export type RedisQueueOptions = z.infer<typeof redisQueueOptionsSchema>;

/** Options of the PostgreSQL queue: `queue.postgres_url`, the `postgres:` section and the queue's own settings. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';
import { postgresConnectionSchema } from '../../shared/postgres/options.js';

export const postgresQueueOptionsSchema = postgresConnectionSchema.extend(deadLetterOptionsSchema.shape).extend({
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
});

export type PostgresQueueOptions = z.infer<typeof postgresQueueOptionsSchema>;

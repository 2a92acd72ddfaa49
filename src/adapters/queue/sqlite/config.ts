/** Options of the SQLite queue: the `sqlite:` section plus its `queue:` settings. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';
import { sqliteOptionsSchema } from '../../shared/sqlite/options.js';

export const sqliteQueueOptionsSchema = sqliteOptionsSchema.extend(deadLetterOptionsSchema.shape).extend({
  /** How often an idle consumer checks for commits made by other processes. */
  poll_interval_ms: z.number().int().min(1).max(60_000).default(25),
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
});

export type SqliteQueueOptions = z.infer<typeof sqliteQueueOptionsSchema>;

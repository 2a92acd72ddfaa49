/** Options every SQLite-backed adapter shares (the `sqlite:` configuration section). */
import { z } from 'zod';

export const sqliteOptionsSchema = z.object({
  path: z.string().min(1).default('./data/openhqm.db'),
  synchronous: z
    .string()
    .transform((v) => v.toUpperCase())
    .pipe(z.enum(['OFF', 'NORMAL', 'FULL']))
    .default('NORMAL'),
  busy_timeout_ms: z.number().int().min(0).default(5000),
});

export type SqliteOptionsInput = z.infer<typeof sqliteOptionsSchema>;

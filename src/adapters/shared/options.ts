/** Validates an adapter's options block with its own schema, naming each bad key. */
import type { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, section: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => ({
      path: [section, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

/**
 * Connection options every Redis-backed adapter shares: the URL from its own section
 * (`queue.redis_url`, `cache.redis_url`, as in the original) and the `redis:` section.
 *
 * @module
 */
import { z } from 'zod';
import { redisUrlProblem } from '../../../core/redis-url.js';

export const redisConnectionSchema = z.object({
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. With `cluster`, a comma-separated list of seed nodes. */
  redis_url: z
    .string()
    .superRefine((value, ctx) => {
      const problem = redisUrlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('redis://localhost:6379'),
  /** Talk to a Redis Cluster (keys are hash-tagged so one queue, or one record, lives in one slot). */
  cluster: z.boolean().default(false),
  /** Every key starts with `<key_prefix>:`; braces are reserved for the hash tags. */
  key_prefix: z
    .string()
    .min(1)
    .regex(/^[^{}]+$/, 'must not contain { or } (they would break the cluster hash tags)')
    .default('openhqm'),
  /** Override the user and password of the URL (ACL user; empty keeps the URL's). */
  username: z.string().default(''),
  password: z.string().default(''),
  /** Use TLS even with a redis:// URL (rediss:// always does). */
  tls: z.boolean().default(false),
  /** PEM of the CA that signed the server certificate (set `tls_ca_file` to read it from a file). */
  tls_ca: z.string().default(''),
  /** How long start-up waits for Redis before it gives up. */
  connect_timeout_ms: z.number().int().min(100).default(10_000),
  /** A command without a reply after this long fails (503 to a client) instead of hanging. */
  command_timeout_ms: z.number().int().min(100).default(5_000),
});

export type RedisConnectionOptions = z.infer<typeof redisConnectionSchema>;

export interface SeedNode {
  readonly host: string;
  readonly port: number;
}

/** The seed nodes of a cluster URL list (`redis://a:7000,redis://b:7001`). */
export function seedNodes(urls: string): SeedNode[] {
  return urls
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .map((u) => {
      const url = new URL(u.includes('://') ? u : `redis://${u}`);
      return { host: url.hostname, port: url.port === '' ? 6379 : Number(url.port) };
    });
}

/** Credentials and TLS given in the first URL of a list, for cluster nodes (standalone lets ioredis parse the URL). */
export function urlSettings(urls: string): { username?: string; password?: string; tls: boolean } {
  const first = urls.split(',')[0]?.trim() ?? '';
  const url = new URL(first.includes('://') ? first : `redis://${first}`);
  return {
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === 'rediss:',
  };
}

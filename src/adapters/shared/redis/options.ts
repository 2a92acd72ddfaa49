/**
 * Connection options every Redis-backed adapter shares: the URL from its own section
 * (`queue.redis_url`, `cache.redis_url`, as in the original) and the `redis:` section.
 *
 * @module
 */
import { z } from 'zod';
import { HqmError } from '../../../core/errors.js';
import { redisUrlProblem } from '../../../core/redis-url.js';

export const redisConnectionSchema = z.object({
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. With `cluster`, a comma-separated list of seed nodes (database 0 only). */
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

/**
 * The database a URL asks for, read as ioredis reads it: the path (`/3`), else a `db` query
 * parameter, else 0. Anything else is refused with HQM_ERR_CONFIG, because ioredis would not
 * refuse it: `/abc` becomes no SELECT at all, i.e. database 0, where another deployment's keys
 * may live. A Redis Cluster has database 0 only, so a cluster seed naming another is refused
 * too instead of being ignored.
 */
export function urlDatabase(options: Pick<RedisConnectionOptions, 'redis_url' | 'cluster'>): number {
  const urls = options.redis_url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  // Standalone connections use the first URL only, as ioredis does.
  const databases = (options.cluster ? urls : urls.slice(0, 1)).map((raw) => {
    let url: URL;
    try {
      url = new URL(raw.includes('://') ? raw : `redis://${raw}`);
    } catch (cause) {
      throw new HqmError('HQM_ERR_CONFIG', `the Redis URL ${redactUrl(raw)} cannot be parsed`, { cause });
    }
    const asked = url.pathname.length > 1 ? url.pathname.slice(1) : url.searchParams.get('db');
    if (asked === null || asked === '') return 0;
    if (!/^\d{1,9}$/.test(asked)) throw new HqmError('HQM_ERR_CONFIG', `the Redis URL ${redactUrl(raw)} names database "${asked}", which is not a database number (use /0, /1, ...)`);
    const database = Number(asked);
    if (options.cluster && database !== 0) {
      throw new HqmError('HQM_ERR_CONFIG', `the Redis URL ${redactUrl(raw)} names database ${database}, but a Redis Cluster has database 0 only: drop the /${database} and keep deployments apart with redis.key_prefix`);
    }
    return database;
  });
  return databases[0] ?? 0;
}

/** A URL fit for a message or a log: the credentials replaced by `***`. */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw.includes('://') ? raw : `redis://${raw}`);
    if (url.username !== '' || url.password !== '') {
      url.username = '***';
      url.password = '';
    }
    return url.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

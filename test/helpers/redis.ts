/**
 * Redis for tests: the machine's server (127.0.0.1:6379, or OPENHQM_TEST_REDIS_URL), with a
 * unique key prefix per suite that is deleted afterwards; or a `redis-server` the test starts
 * itself on free loopback ports (single node with AOF, or a 3-master cluster), stopped after.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { freePort, IN_CI, requireServer } from './servers.js';
import { waitFor } from './wait.js';

export const REDIS_URL = process.env.OPENHQM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Skip (or, under CI=true, fail) when the machine's Redis is not there. */
export function requireRedis(): Promise<{ skip: string } | undefined> {
  const url = new URL(REDIS_URL);
  return requireServer('Redis', url.hostname, Number(url.port || 6379));
}

/** Skip (or, under CI=true, fail) when `redis-server` and `redis-cli` are not installed. */
export async function requireRedisServer(): Promise<{ skip: string } | undefined> {
  const found = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);
  if (found) return undefined;
  const reason = 'redis-server and redis-cli are not installed';
  if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
  return { skip: `${reason}; install them to run these tests` };
}

/** The environment that puts an `openhqm` process's queue and store on the machine's Redis, under `prefix`. */
export function redisEnv(prefix: string, url = REDIS_URL): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'redis',
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_QUEUE__REDIS_URL: url,
    OPENHQM_CACHE__REDIS_URL: url,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
  };
}

export function testPrefix(): string {
  return `hqm-test-${randomUUID()}`;
}

/** Deletes every key under `prefix:` (on every master of a cluster). */
export async function deleteKeys(prefix: string, target: { url: string; cluster?: boolean }): Promise<void> {
  const client = target.cluster === true ? new Cluster(clusterSeeds(target.url)) : new Redis(target.url);
  try {
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) await node.unlink(key);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

/** Counts the keys under `prefix:` on a single server. */
export async function countKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    return n;
  } finally {
    client.disconnect();
  }
}

function clusterSeeds(urls: string): Array<{ host: string; port: number }> {
  return urls.split(',').map((u) => {
    const url = new URL(u.trim());
    return { host: url.hostname, port: Number(url.port) };
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops it with a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `redis-server` on a free port with its files in `dir` (append-only file on by default). */
export async function startRedisServer(options: { dir: string; port?: number; aof?: boolean; args?: readonly string[] }): Promise<RedisServer> {
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const aof = options.aof ?? true;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '', '--appendonly', aof ? 'yes' : 'no', '--appendfsync', 'always', ...(options.args ?? [])];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = once(child, 'exit');
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited:\n${output.join('')}`);
      return output.join('').includes('Ready to accept connections');
    },
    { timeoutMs: 15_000, what: `redis-server on ${port}` },
  );
  return {
    port,
    url,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

export interface RedisCluster {
  /** Comma-separated seed URLs, as `queue.redis_url` takes them with `redis.cluster: true`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts three masters on free ports (bus ports chosen explicitly) and joins them into a cluster. */
export async function startRedisCluster(dir: string): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i += 1) {
      const busPort = await freePort();
      servers.push(await startRedisServer({ dir: join(dir, `node-${i}`), args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf'] }));
    }
    const create = spawn('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    create.stdout.on('data', (c: Buffer) => (log += c.toString()));
    create.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${log}`);
    await waitFor(async () => (await Promise.all(servers.map((s) => clusterOk(s.url)))).every(Boolean), { timeoutMs: 20_000, what: 'cluster_state:ok on every node' });
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    throw error;
  }
  return {
    url: servers.map((s) => s.url).join(','),
    async stop() {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    },
  };
}

async function clusterOk(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true });
  try {
    await client.connect();
    return /cluster_state:ok/.test(await client.cluster('INFO'));
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

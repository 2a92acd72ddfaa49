/**
 * Redis connections for the Redis adapters. ioredis is an optional dependency loaded here, on
 * first use, so a deployment on another backend never loads it.
 *
 * - **One command connection per server per process**, pipelined and shared (reference
 *   counted) by the queue and the store when they point at the same Redis: every command of one
 *   event-loop turn goes out in one write (see `coalesceWrites`), any number of commands are in
 *   flight, and a submit's record reaches Redis before its message (one connection keeps
 *   order), so a worker never sees a message without its record. The last `release()` closes it.
 * - **Dedicated connections** only where a command blocks (the consumer's XREAD wake-up) or the
 *   connection changes mode (the store's pub/sub subscriber). Whoever asks for one closes it.
 * - **Bounded waiting.** Command connections have no offline queue and `maxRetriesPerRequest: 0`:
 *   while Redis is unreachable a command fails at once (HQM_ERR_BACKEND_UNAVAILABLE, a 503 at the
 *   API) instead of queueing, in-flight commands fail when the connection drops, and a command
 *   with no reply fails after `command_timeout_ms`. Connections reconnect forever with a capped
 *   back-off, so the process resumes by itself when Redis is back.
 * - **The database the URL names, or none.** ioredis sends SELECT when it connects, but when
 *   Redis refuses it (`/99` on a server with 16 databases) ioredis only emits an error and
 *   carries on in database 0, where another deployment's keys may live. Here a refused SELECT
 *   closes the connection before it is ready: start-up fails with HQM_ERR_CONFIG naming the
 *   database and Redis's answer, and a reconnect that is refused stays down (commands fail as
 *   unavailable) until Redis accepts the database again. When a connection is first opened it
 *   also asks Redis which database it is on (CLIENT INFO, Redis 6.2+) before it is used.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { HqmError } from '../../../core/errors.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import { guarded, unavailable } from './errors.js';
import { seedNodes, urlDatabase, urlSettings, type RedisConnectionOptions } from './options.js';

export type RedisClient = Redis | Cluster;
interface Driver {
  readonly Redis: typeof Redis;
  readonly Cluster: typeof Cluster;
}
type Purpose = 'commands' | 'blocking' | 'subscriber';

let driver: Promise<Driver> | undefined;

/** Imports ioredis once, with an error that says what to install when it is missing. */
export function loadDriver(): Promise<Driver> {
  const loading: Promise<Driver> =
    driver ??
    import('ioredis').then(
      ({ Redis, Cluster }) => ({ Redis, Cluster }),
      (cause: unknown) => {
        driver = undefined;
        throw new HqmError('HQM_ERR_ADAPTER_UNKNOWN', 'the redis backend needs the ioredis package, an optional dependency that is not installed: run `npm install ioredis`', { cause });
      },
    );
  driver = loading;
  return loading;
}

export interface RedisHandle {
  /** The shared, pipelined command connection. */
  readonly client: RedisClient;
  readonly options: RedisConnectionOptions;
  /** Opens a connection of its own for the caller, who must close it (`closeClient`). */
  dedicated(purpose: 'blocking' | 'subscriber', logger: Logger): Promise<RedisClient>;
  /** Resolves once the command connection is ready, or rejects (unavailable) after `ms`. */
  ready(ms: number): Promise<void>;
  /** The command connection answers a PING (what the adapters' health() reports). */
  health(): Promise<HealthReport>;
  /** The server's settings that matter here, read when the connection opened. */
  readonly server: ServerTraits;
  release(): Promise<void>;
}

interface Shared {
  readonly handle: RedisHandle;
  refs: number;
}

const open = new Map<string, Promise<Shared>>();

/** The command connection for these options, opened on first use and shared until the last release. */
export async function acquireRedis(options: RedisConnectionOptions, logger: Logger): Promise<RedisHandle> {
  const key = JSON.stringify([options.redis_url, options.cluster, options.username, options.password, options.tls, options.tls_ca, options.command_timeout_ms]);
  let shared = open.get(key);
  if (shared === undefined) {
    shared = openShared(key, options, logger);
    open.set(key, shared);
    shared.catch(() => open.delete(key));
  }
  const entry = await shared;
  entry.refs += 1;
  return entry.handle;
}

async function openShared(key: string, options: RedisConnectionOptions, logger: Logger): Promise<Shared> {
  const database = urlDatabase(options); // Refuses a URL whose database cannot be honoured, before connecting.
  const ioredis = await loadDriver();
  const client = createClient(ioredis, options, 'commands', logger);
  await connect(client, options.connect_timeout_ms, database);
  const server = await inspectServer(client, logger);
  const entry: Shared = {
    refs: 0,
    handle: {
      client,
      options,
      server,
      dedicated: async (purpose, log) => {
        const conn = createClient(ioredis, options, purpose, log);
        await connect(conn, options.connect_timeout_ms, database);
        return conn;
      },
      ready: (ms) => whenReady(client, ms),
      health: () => pingHealth(client),
      release: async () => {
        entry.refs -= 1;
        if (entry.refs > 0) return;
        open.delete(key);
        await closeClient(client);
      },
    },
  };
  return entry;
}

function createClient(ioredis: Driver, options: RedisConnectionOptions, purpose: Purpose, logger: Logger): RedisClient {
  const common = connectionOptions(options, purpose);
  const client: RedisClient = options.cluster
    ? new ioredis.Cluster(seedNodes(options.redis_url), clusterOptions(common, purpose))
    : new ioredis.Redis(options.redis_url.split(',')[0]?.trim() ?? '', { ...common, retryStrategy: reconnectDelay, enableOfflineQueue: purpose === 'subscriber' });
  if (!client.isCluster) refuseDatabaseZeroFallback(client as Redis);
  watchConnection(client, purpose, logger);
  if (purpose === 'commands') coalesceWrites(client, logger);
  return client;
}

/** A reply error to the SELECT ioredis sends as it connects (a database out of range, an ACL without SELECT). */
function isSelectRefusal(error: unknown): error is Error & { command: { name: string; args: unknown[] } } {
  return error instanceof Error && error.name === 'ReplyError' && (error as { command?: { name?: unknown } }).command?.name === 'select';
}

/**
 * Closes a connection whose SELECT Redis refused. ioredis pipelines that SELECT ahead of the
 * ready check and reports its failure only as an 'error' event, then goes on to 'ready' in
 * database 0. The reply to SELECT arrives before the ready check is even sent, so closing here
 * (and reconnecting with the usual back-off) means the connection never serves a command.
 */
function refuseDatabaseZeroFallback(client: Redis): void {
  client.on('error', (error: Error) => {
    if (isSelectRefusal(error)) client.disconnect(true);
  });
}

/** The start-up error for a refused SELECT: the database the URL names and what Redis answered. */
function databaseRefused(client: RedisClient, error: Error & { command: { args: unknown[] } }): HqmError {
  const { host, port } = (client as Redis).options;
  const database = String(error.command.args[0]);
  return new HqmError('HQM_ERR_CONFIG', `Redis at ${host}:${port} refused database ${database}, which the Redis URL names (redis://${host}:${port}/${database}): "${error.message}"; name a database the server has (its \`databases\` setting) and the user may select, or use database 0 with its own redis.key_prefix`, {
    cause: error,
    details: { database: Number(database), reply: error.message },
  });
}

/**
 * ioredis writes every command to the socket as it is issued: one syscall each, which on a
 * loopback connection cost a quarter of a worker's CPU. This corks the socket at the first
 * command of an event-loop turn and uncorks it once the turn's I/O callbacks have run
 * (setImmediate), so a turn's commands leave in one write — pipelining without waiting for the
 * previous batch's replies. Cluster nodes are patched as they join.
 *
 * `sendCommand` and `stream` are ioredis internals: package.json pins the minor version this
 * was tested with (D25), test/integration/redis-coalescing.test.ts fails if writes stop being
 * coalesced, and should the internals be missing the connection works uncoalesced.
 */
function coalesceWrites(client: RedisClient, logger: Logger): void {
  if (client.isCluster) {
    (client as Cluster).on('+node', (node: Redis) => coalesceWrites(node, logger));
    return;
  }
  const redis = client as Redis & { stream?: Socket };
  if (typeof redis.sendCommand !== 'function') {
    logger.warn({}, 'this ioredis has no sendCommand to patch: Redis commands are written one by one (slower, still correct)');
    return;
  }
  const send = redis.sendCommand.bind(redis);
  let corked: Socket | undefined;
  const uncork = (): void => {
    corked?.uncork();
    corked = undefined;
  };
  redis.sendCommand = (command, stream) => {
    const socket = redis.stream;
    if (corked === undefined && stream === undefined && typeof socket?.cork === 'function' && redis.status === 'ready') {
      socket.cork();
      corked = socket;
      setImmediate(uncork);
    }
    return send(command, stream);
  };
}

function connectionOptions(options: RedisConnectionOptions, purpose: Purpose): RedisOptions {
  const fromUrl = options.cluster ? urlSettings(options.redis_url) : { tls: false };
  const username = options.username === '' ? fromUrl.username : options.username;
  const password = options.password === '' ? fromUrl.password : options.password;
  const tls = options.tls || fromUrl.tls || options.tls_ca !== '';
  return {
    lazyConnect: true,
    connectTimeout: options.connect_timeout_ms,
    connectionName: `openhqm-${purpose}`,
    // Off on purpose (D20): ioredis keeps one auto-pipeline in flight per connection, so each
    // link of a request's chain of commands waits for a whole batch; writes are coalesced per
    // event-loop turn by coalesceWrites instead, with any number of commands in flight.
    enableAutoPipelining: false,
    // Commands fail at once while Redis is away; only the subscriber waits (to resubscribe).
    maxRetriesPerRequest: purpose === 'subscriber' ? null : 0,
    autoResendUnfulfilledCommands: false,
    ...(purpose === 'commands' ? { commandTimeout: options.command_timeout_ms } : {}),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls: options.tls_ca === '' ? {} : { ca: options.tls_ca } } : {}),
  };
}

function clusterOptions(common: RedisOptions, purpose: Purpose): ClusterOptions {
  const { lazyConnect, enableAutoPipelining, ...redisOptions } = common;
  return {
    lazyConnect,
    enableAutoPipelining,
    enableOfflineQueue: purpose === 'subscriber',
    clusterRetryStrategy: reconnectDelay,
    redisOptions,
  };
}

/** Reconnects forever: 50 ms doubling to a 2 s cap, with jitter so processes do not stampede. */
function reconnectDelay(times: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(times, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** Logs an outage once when it starts and once when it ends, not every reconnect attempt. */
function watchConnection(client: RedisClient, purpose: Purpose, logger: Logger): void {
  let down = false;
  let refused = false;
  client.on('error', (error: Error) => {
    if (isSelectRefusal(error)) {
      // Not an outage Redis recovers from by itself: say so, once, however often it repeats.
      if (!refused) logger.error({ err: error, connection: purpose, database: error.command.args[0] }, 'Redis refused the database the URL names; the connection stays closed rather than use database 0');
      refused = true;
      down = true;
      return;
    }
    if (down) return;
    down = true;
    logger.warn({ err: error, connection: purpose }, 'redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    refused = false;
    if (!down) return;
    down = false;
    logger.info({ connection: purpose }, 'redis connection restored');
  });
}

async function connect(client: RedisClient, timeoutMs: number, database: number): Promise<void> {
  client.connect().catch(() => undefined); // Failures are retried by the reconnect strategy; whenReady bounds the wait.
  try {
    await whenReady(client, timeoutMs);
    if (!client.isCluster) await verifyDatabase(client as Redis, database);
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

/**
 * Asks Redis which database this connection is on (CLIENT INFO, Redis 6.2+), so that start-up
 * does not rest on how ioredis handles SELECT alone. A server or proxy without CLIENT INFO, or
 * an ACL that forbids it, skips the check: the refused-SELECT guard still applies.
 */
async function verifyDatabase(client: Redis, database: number): Promise<void> {
  let info: string;
  try {
    info = String(await client.client('INFO'));
  } catch (error) {
    if (error instanceof Error && error.name === 'ReplyError') return;
    throw unavailable(`could not ask Redis which database the connection uses (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const actual = /(?:^|\s)db=(\d+)/.exec(info)?.[1];
  if (actual === undefined || Number(actual) === database) return;
  const { host, port } = client.options;
  throw new HqmError('HQM_ERR_CONFIG', `the Redis URL names database ${database} (redis://${host}:${port}/${database}), but Redis reports the connection on database ${actual}`, {
    details: { database, actual: Number(actual) },
  });
}

async function pingHealth(client: RedisClient): Promise<HealthReport> {
  if (client.status !== 'ready') return { ok: false, detail: `redis connection is ${client.status}` };
  try {
    await guarded('checking health', client.ping());
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/**
 * Resolves when the connection is ready; rejects with HQM_ERR_BACKEND_UNAVAILABLE after `ms` or
 * when it ends, or with HQM_ERR_CONFIG at once when Redis refuses the URL's database.
 */
export function whenReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error): void => {
      lastError = error;
      // Waiting longer cannot help: the server does not have the database (or the user may not select it).
      if (isSelectRefusal(error)) finish(databaseRefused(client, error));
    };
    const finish = (error?: HqmError): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      client.off('error', onError);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => finish();
    const onEnd = (): void => finish(unavailable('the Redis connection is closed'));
    const timer = setTimeout(() => finish(unavailable(`Redis did not answer within ${ms} ms${lastError === undefined ? '' : ` (${lastError.message})`}`, lastError)), ms);
    client.on('ready', onReady);
    client.on('end', onEnd);
    client.on('error', onError);
  });
}

/** Closes a connection: QUIT (waits for replies still due) with a deadline, then drops the socket. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status !== 'end') {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([client.quit().catch(() => undefined), deadline]);
    clearTimeout(timer);
  }
  client.disconnect();
}

/** What the adapters need to know about the server, read once per connection. */
export interface ServerTraits {
  /** Acknowledged writes survive a restart of Redis: every master has the append-only file on. */
  readonly durable: boolean;
}

/**
 * Reads the servers' persistence and eviction settings (INFO) and warns, once per connection,
 * about what would lose data: no append-only file (RDB snapshots alone lose what came after the
 * last one), or an eviction policy that may drop queue or record keys under memory pressure.
 */
async function inspectServer(client: RedisClient, logger: Logger): Promise<ServerTraits> {
  const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  let infos: string[];
  try {
    infos = await Promise.all(nodes.map((node) => node.info()));
  } catch (error) {
    logger.warn({ err: error }, 'could not read the Redis settings (INFO); assuming writes do not survive a Redis restart');
    return { durable: false };
  }
  const durable = infos.every((info) => /^aof_enabled:1\r?$/m.test(info));
  if (!durable) logger.warn({}, 'Redis has no append-only file: queued messages and request records do not survive a Redis restart (set appendonly yes)');
  const evicting = infos.map((info) => /^maxmemory_policy:(\S+)/m.exec(info)?.[1]).find((policy) => policy !== undefined && policy !== 'noeviction');
  if (evicting !== undefined) logger.warn({ maxmemory_policy: evicting }, 'Redis may evict keys under memory pressure: queued messages and results could vanish (set maxmemory-policy noeviction)');
  return { durable };
}

/** Calls a Lua script: `keys` are KEYS (all in one cluster slot), `args` are ARGV. */
export type ScriptCall = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>;

/**
 * Registers a Lua script on a connection (ioredis sends EVALSHA and falls back to EVAL when
 * Redis does not know the script yet, e.g. after a restart) and returns a typed caller.
 */
export function defineScript(client: RedisClient, name: string, numberOfKeys: number, lua: string): ScriptCall {
  client.defineCommand(name, { numberOfKeys, lua });
  const command = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name];
  if (command === undefined) throw new Error(`ioredis did not define the script ${name}`);
  return (keys, args) => command.call(client, ...keys, ...args);
}

/** As `defineScript`, for a script whose number of KEYS varies from call to call (ioredis takes it as the first argument). */
export function defineVariadicScript(client: RedisClient, name: string, lua: string): ScriptCall {
  client.defineCommand(name, { lua });
  const command = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name];
  if (command === undefined) throw new Error(`ioredis did not define the script ${name}`);
  return (keys, args) => command.call(client, keys.length, ...keys, ...args);
}

/**
 * What a Redis URL setting (`queue.redis_url`, `cache.redis_url`) may hold: one `redis://` or
 * `rediss://` URL, or, for a Redis Cluster, a comma-separated list of them (the seed nodes).
 * ioredis itself takes more and guesses: a bare word is a host name, and the path of any other
 * scheme is a unix socket (`http://host:6379` connects to the socket "/"), so a typo surfaced
 * only as a connect timeout. Checked where the configuration is validated, before anything
 * connects.
 *
 * @module
 */

const FORM = 'a redis:// or rediss:// URL (redis://[user:password@]host[:port][/db])';

/** Why `value` is not a Redis URL or a list of them, or undefined when it is. Never quotes the value (it may hold a password). */
export function redisUrlProblem(value: string): string | undefined {
  const urls = value.split(',').map((u) => u.trim());
  for (const [index, url] of urls.entries()) {
    const problem = urlProblem(url);
    if (problem !== undefined) return urls.length === 1 ? problem : `seed ${index + 1} of ${urls.length}: ${problem}`;
  }
  return undefined;
}

function urlProblem(text: string): string | undefined {
  if (text === '') return `expected ${FORM}, got nothing`;
  if (!/^rediss?:\/\//i.test(text)) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1];
    return scheme === undefined ? `expected ${FORM}` : `expected ${FORM}, not ${scheme.toLowerCase()}://`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected ${FORM}; this one does not parse (a bad port, or a character to percent-encode in the user or password?)`;
  }
  if (url.hostname === '') return 'the URL names no host';
  if (!/^\/?\d{0,9}$/.test(url.pathname)) return 'the path after the host must be a database number, such as /0';
  const db = url.searchParams.get('db');
  if (db !== null && !/^\d{1,9}$/.test(db)) return 'the db parameter must be a database number';
  return undefined;
}

/** With `redis.cluster`: why the seed list names a database other than 0 (a cluster has only that one), or undefined. */
export function clusterDatabaseProblem(value: string): string | undefined {
  for (const text of value.split(',').map((u) => u.trim())) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined; // Reported by redisUrlProblem.
    }
    const named = url.pathname.length > 1 ? url.pathname.slice(1) : (url.searchParams.get('db') ?? '0');
    if (Number(named) !== 0) return `names database ${named}, but a Redis Cluster has database 0 only: keep deployments apart with redis.key_prefix`;
  }
  return undefined;
}

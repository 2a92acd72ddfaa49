import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadConfig } from './load.js';
import { maskSecrets } from './mask.js';

const dir = mkdtempSync(join(tmpdir(), 'openhqm-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults with nothing set', () => {
    const { config } = loadConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8000 });
    expect(config.queue.type).toBe('sqlite');
    expect(config.cache).toMatchObject({ type: 'sqlite', ttl_seconds: 3600 });
    expect(config.sqlite.path).toBe('./data/openhqm.db');
    expect(config.worker).toMatchObject({ count: 5, max_retries: 3, retry_delay_base: 1, retry_delay_max: 60, timeout_seconds: 300 });
    expect(config.monitoring.log_level).toBe('info');
  });

  it('layers file < environment < flags, converting strings to their types', () => {
    const path = file('layers.yaml', 'server:\n  port: 9000\n  host: 127.0.0.1\nworker:\n  count: 2\n');
    const { config } = loadConfig({
      env: { OPENHQM_CONFIG: path, OPENHQM_SERVER__PORT: '9100', OPENHQM_WORKER__MAX_RETRIES: '7', OPENHQM_MONITORING__METRICS_ENABLED: 'false' },
      overrides: { server: { port: 9200 } },
    });
    expect(config.server).toMatchObject({ port: 9200, host: '127.0.0.1' });
    expect(config.worker).toMatchObject({ count: 2, max_retries: 7 });
    expect(config.monitoring.metrics_enabled).toBe(false);
  });

  it('reads environment names case-insensitively, as the original did', () => {
    const { config } = loadConfig({ env: { openhqm_queue__type: 'memory', OPENHQM_Cache__Type: 'memory' } });
    expect(config.queue.type).toBe('memory');
    expect(config.cache.type).toBe('memory');
  });

  it('names every bad key, why, and where the value came from', () => {
    const path = file('bad.yaml', 'queue:\n  tpye: redis\nworker:\n  count: 0\n');
    const found = problems(() => loadConfig({ env: { OPENHQM_CONFIG: path, OPENHQM_SERVER__PORT: 'eighty', OPENHQM_MONITORING__LOG_LEVEL: 'loud' } }));
    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/queue\.tpye: unknown key \(did you mean "type"\?\) \(from config file/);
    expect(found.join('\n')).toMatch(/worker\.count: .*(>=1|too small)/i);
    expect(found.join('\n')).toMatch(/server\.port: expected a whole number, got "eighty" \(from environment OPENHQM_SERVER__PORT\)/);
    expect(found.join('\n')).toMatch(/monitoring\.log_level: expected one of/);
  });

  it('refuses a cluster seed that names a database other than 0, as the Redis adapters would', () => {
    const found = problems(() => loadConfig({ env: { OPENHQM_REDIS__CLUSTER: 'true', OPENHQM_QUEUE__REDIS_URL: 'redis://a:7000,redis://b:7001/3' } }));
    expect(found).toEqual([expect.stringMatching(/^queue\.redis_url: names database 3, but a Redis Cluster has database 0 only/)]);
  });

  it('refuses a list of Redis URLs without cluster mode, where all but the first would be ignored', () => {
    const found = problems(() => loadConfig({ env: { OPENHQM_CACHE__REDIS_URL: 'redis://a:7000,redis://b:7001' } }));
    expect(found).toEqual([expect.stringMatching(/^cache\.redis_url: a list of URLs is for a Redis Cluster/)]);
  });

  it('checks queue.type and cache.type against the backends given, in the same pass as the rest', () => {
    const backends = { queue: ['sqlite', 'memory', 'redis'], cache: ['sqlite', 'memory', 'redis'] };
    expect(problems(() => loadConfig({ env: { OPENHQM_QUEUE__TYPE: 'bogus', OPENHQM_CACHE__TYPE: 'nope', OPENHQM_SERVER__PORT: 'abc' }, backends }))).toEqual([
      'server.port: expected a whole number, got "abc" (from environment OPENHQM_SERVER__PORT)',
      'queue.type: unknown backend "bogus" (available: sqlite, memory, redis) (from environment OPENHQM_QUEUE__TYPE)',
      'cache.type: unknown backend "nope" (available: sqlite, memory, redis) (from environment OPENHQM_CACHE__TYPE)',
    ]);
    expect(problems(() => loadConfig({ env: {}, overrides: { queue: { type: 'kafka' } }, backends }))).toEqual([
      'queue.type: unknown backend "kafka" (available: sqlite, memory, redis) (from command line)',
    ]);
    // Without the names (config/ does not read the registries) any name passes.
    expect(loadConfig({ env: { OPENHQM_QUEUE__TYPE: 'bogus' } }).config.queue.type).toBe('bogus');
  });

  it('takes backend names in any case, as the other names of a choice', () => {
    const backends = { queue: ['sqlite', 'memory'], cache: ['sqlite', 'memory'] };
    const { config } = loadConfig({ env: { OPENHQM_QUEUE__TYPE: 'SQLite', OPENHQM_CACHE__TYPE: ' Memory ' }, backends });
    expect(config.queue.type).toBe('sqlite');
    expect(config.cache.type).toBe('memory');
  });

  it('refuses a queue name some broker would not take as is (a Redis hash tag, a NATS subject)', () => {
    for (const name of ['}x', 'a b', 'a{b}', '.hidden']) {
      expect(problems(() => loadConfig({ env: { OPENHQM_QUEUE__REQUEST_QUEUE_NAME: name } }))).toEqual([expect.stringMatching(/^queue\.request_queue_name: must be 1–200 letters/)]);
    }
    expect(loadConfig({ env: { OPENHQM_QUEUE__REQUEST_QUEUE_NAME: 'orders.v2_high-prio' } }).config.queue.request_queue_name).toBe('orders.v2_high-prio');
  });

  it('names an unknown section by the key given and the variable that gave it', () => {
    expect(problems(() => loadConfig({ env: { OPENHQM_NOPE__X: '1' } }))).toEqual(['nope.x: unknown section "nope" (from environment OPENHQM_NOPE__X)']);
    expect(problems(() => loadConfig({ env: { OPENHQM_SEVER__PORT: '1' } }))).toEqual([
      'sever.port: unknown section "sever" (did you mean "server"?) (from environment OPENHQM_SEVER__PORT)',
    ]);
    expect(problems(() => loadConfig({ env: { OPENHQM_QUEUE__FOO__BAR: '1' } }))).toEqual(['queue.foo.bar: unknown key "queue.foo" (from environment OPENHQM_QUEUE__FOO__BAR)']);
    const path = file('unknown-sections.yaml', 'nope:\n  a: 1\nempty: {}\n');
    expect(problems(() => loadConfig({ env: {}, configPath: path }))).toEqual([
      `nope.a: unknown section "nope" (from config file ${path})`,
      `empty: unknown section (from config file ${path})`,
    ]);
  });

  it('says when a variable names a key inside a setting that takes one value', () => {
    expect(problems(() => loadConfig({ env: { OPENHQM_SERVER__PORT__X: '1' } }))).toEqual([
      'server.port.x: server.port takes one value, not keys inside it (from environment OPENHQM_SERVER__PORT__X)',
    ]);
    expect(problems(() => loadConfig({ env: { OPENHQM_PROXY__ENDPOINTS__A__URL__X: 'y' } }))).toEqual([
      'proxy.endpoints.a.url.x: proxy.endpoints.a.url takes one value, not keys inside it (from environment OPENHQM_PROXY__ENDPOINTS__A__URL__X)',
    ]);
    // The file's value was replaced, so the file is not blamed.
    const path = file('port.yaml', 'server:\n  port: 8080\n');
    expect(problems(() => loadConfig({ env: { OPENHQM_SERVER__PORT__X: '1' }, configPath: path }))).toEqual([
      'server.port.x: server.port takes one value, not keys inside it (from environment OPENHQM_SERVER__PORT__X)',
    ]);
  });

  it('refuses two variables for one setting instead of letting the order of the environment decide', () => {
    expect(problems(() => loadConfig({ env: { OPENHQM_SERVER__PORT: '1', OPENHQM_SERVER__PORT__X: '2' } }))).toEqual([
      'server.port: set by OPENHQM_SERVER__PORT, and OPENHQM_SERVER__PORT__X sets a key inside it; keep one',
    ]);
    expect(problems(() => loadConfig({ env: { OPENHQM_QUEUE__TYPE: 'memory', openhqm_queue__type: 'sqlite' } }))).toEqual([
      'queue.type: set by both OPENHQM_QUEUE__TYPE and openhqm_queue__type; keep one',
    ]);
  });

  it('shows a list or a mapping given where one value belongs as JSON', () => {
    const path = file('list.yaml', 'server:\n  host: [a, b]\n');
    expect(problems(() => loadConfig({ env: {}, configPath: path }))).toEqual([`server.host: expected a string, got ["a","b"] (from config file ${path})`]);
  });

  it('refuses a Redis URL that is not redis:// or rediss://, whichever backend is chosen', () => {
    expect(problems(() => loadConfig({ env: { OPENHQM_QUEUE__REDIS_URL: 'http://127.0.0.1:6379', OPENHQM_CACHE__REDIS_URL: 'not-a-url' } }))).toEqual([
      expect.stringMatching(/^queue\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL .*, not http:\/\/ \(from environment OPENHQM_QUEUE__REDIS_URL\)$/),
      expect.stringMatching(/^cache\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL .* \(from environment OPENHQM_CACHE__REDIS_URL\)$/),
    ]);
    const { config } = loadConfig({ env: { OPENHQM_QUEUE__REDIS_URL: 'redis://a:7000,redis://b:7001', OPENHQM_REDIS__CLUSTER: 'true' } });
    expect(config.queue.redis_url).toBe('redis://a:7000,redis://b:7001');
    expect(config.cache.redis_url).toBe('redis://localhost:6379');
  });

  it('checks that the retry delay cap is not below its base', () => {
    expect(problems(() => loadConfig({ env: { OPENHQM_WORKER__RETRY_DELAY_BASE: '10', OPENHQM_WORKER__RETRY_DELAY_MAX: '5' } }))).toEqual([
      expect.stringMatching(/^worker\.retry_delay_max: must be at least/),
    ]);
  });

  it('substitutes ${VAR} and reads *_file secrets', () => {
    const secret = file('secret.txt', 'from-a-file\n');
    const path = file('vars.yaml', `queue:\n  redis_url: "redis://\${REDIS_HOST}:6379"\n  mqtt_password_file: ${secret}\nsqlite:\n  path: \${DB:-/tmp/x.db}\n`);
    const { config } = loadConfig({ env: { OPENHQM_CONFIG: path, REDIS_HOST: 'cache.internal' } });
    expect(config.queue.redis_url).toBe('redis://cache.internal:6379');
    expect(config.queue.mqtt_password).toBe('from-a-file');
    expect(config.sqlite.path).toBe('/tmp/x.db');
  });

  it('reports an unset ${VAR} and an unreadable file', () => {
    const path = file('missing.yaml', 'queue:\n  redis_url: "${NOT_SET_ANYWHERE}"\n');
    // The empty string left in its place is no Redis URL either.
    expect(problems(() => loadConfig({ env: { OPENHQM_CONFIG: path } }))).toEqual([
      expect.stringMatching(/NOT_SET_ANYWHERE is not set/),
      expect.stringMatching(/^queue\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL .*got nothing/),
    ]);
    expect(problems(() => loadConfig({ env: {}, configPath: join(dir, 'absent.yaml') }))).toEqual([expect.stringMatching(/cannot read config file/)]);
  });

  it('freezes the result', () => {
    const { config } = loadConfig({ env: {} });
    expect(Object.isFrozen(config.server)).toBe(true);
    // All the way down, not one level.
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.proxy.capture)).toBe(true);
    expect(Object.isFrozen(config.proxy.endpoints)).toBe(true);
  });
});

describe('maskSecrets', () => {
  it('masks secret keys and URL passwords, and leaves the rest', () => {
    expect(
      maskSecrets({ queue: { redis_url: 'redis://user:hunter2@host:6379/0', mqtt_password: 'pw', mqtt_username: 'me', gcp_credentials_path: '/x' } }),
    ).toEqual({ queue: { redis_url: 'redis://user:****@host:6379/0', mqtt_password: '****', mqtt_username: 'me', gcp_credentials_path: '/x' } });
  });

  it('masks the password of every URL in a list of cluster seeds', () => {
    expect(maskSecrets({ cache: { redis_url: 'redis://:s1@a:7000, rediss://u:s2@b:7001,redis://c:7002' } })).toEqual({
      cache: { redis_url: 'redis://:****@a:7000, rediss://u:****@b:7001,redis://c:7002' },
    });
  });
});

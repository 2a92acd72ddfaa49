/**
 * `openhqm config check` refuses what `openhqm start` refuses before it connects, with the same
 * message and exit code, through the real CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir();
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const BROKEN_ROUTES = `routes:
  - name: bad-regex
    match_field: metadata.type
    match_pattern: "("
    endpoint: http://svc/
  - name: bad-jq
    endpoint: http://svc/
    transform_type: jq
    transform: ".a | ("
  - name: first-default
    is_default: true
    endpoint: ghost-service
  - name: second-default
    is_default: true
    endpoint: http://svc/
`;
const routing = { OPENHQM_PROXY__ENABLED: 'true', OPENHQM_ROUTING__ENABLED: 'true' };

describe('openhqm config check refuses what start refuses', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['an unknown queue backend', { OPENHQM_QUEUE__TYPE: 'bogus' }, /queue\.type: unknown backend "bogus" \(available: sqlite, memory, redis, postgres, rabbitmq\)/],
    ['a backend that is not in this build', { OPENHQM_QUEUE__TYPE: 'kafka' }, /queue\.type: unknown backend "kafka"/],
    ['an unknown result store', { OPENHQM_CACHE__TYPE: 'bogus' }, /cache\.type: unknown backend "bogus"/],
    ['a Redis URL of another scheme', { OPENHQM_QUEUE__TYPE: 'redis', OPENHQM_QUEUE__REDIS_URL: 'http://127.0.0.1:6379' }, /queue\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL .*not http:\/\//],
    ['a Redis URL that is no URL', { OPENHQM_CACHE__REDIS_URL: 'not-a-url' }, /cache\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL/],
    [
      'a broken routes file',
      { ...routing, OPENHQM_ROUTING__CONFIG_PATH: file('broken.yaml', BROKEN_ROUTES) },
      /invalid routes \(4\):[\s\S]*route "bad-regex": match_pattern is not a valid regular expression[\s\S]*route "bad-jq": jq transform does not compile[\s\S]*route "first-default": endpoint "ghost-service" is neither configured in proxy\.endpoints nor a URL[\s\S]*route "second-default": more than one default route/,
    ],
    ['broken inline routes', { ...routing, OPENHQM_ROUTING__CONFIG_DICT: JSON.stringify({ routes: [{ name: 'bad', endpoint: 'nowhere' }] }) }, /route "bad": endpoint "nowhere"/],
    ['an unreadable routes file', { ...routing, OPENHQM_ROUTING__CONFIG_PATH: join(dir, 'absent.yaml') }, /invalid routes \(1\):[\s\S]*cannot read/],
  ];

  it.each(cases)('%s: exit 2 and the same message', async (_what, env, why) => {
    const full = { ...env, OPENHQM_SQLITE__PATH: join(dir, 'openhqm.db') };
    const [check, start] = await Promise.all([runCli(['config', 'check'], full), runCli(['start'], full)]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(why);
    expect(check.code).toBe(2);
    expect(check.stdout).toBe('');
    expect(check.stderr).toBe(start.stderr);
  });

  it('refuses a processor module that does not exist (start refuses to import it)', async () => {
    const env = { OPENHQM_WORKER__PROCESSOR_MODULE: './no-such-processor.mjs', OPENHQM_SQLITE__PATH: join(dir, 'processor.db') };
    const [check, start] = await Promise.all([runCli(['config', 'check'], env), runCli(['start'], env)]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/cannot load worker\.processor_module \.\/no-such-processor\.mjs: /);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/cannot load worker\.processor_module \.\/no-such-processor\.mjs: .*no-such-processor\.mjs is not a file/);
  });

  it('passes good routes and a backend name in any case', async () => {
    const routes = file('good.yaml', 'routes:\n  - name: all\n    endpoint: http://svc/\n');
    const { code, stdout, stderr } = await runCli(['config', 'check', '--json'], { ...routing, OPENHQM_ROUTING__CONFIG_PATH: routes, OPENHQM_QUEUE__TYPE: 'SQLite' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).queue.type).toBe('sqlite');
  });
});

describe('openhqm config check flags', () => {
  it('takes the configuration flags start takes', async () => {
    const { code, stdout } = await runCli(['config', 'check', '--json', '--host', '127.0.0.1', '--port', '9100', '--workers', '3', '--queue-type', 'memory']);
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 9100 });
    expect(config.worker.count).toBe(3);
    expect(config.queue.type).toBe('memory');
  });

  it('names a bad flag value as coming from the command line', async () => {
    const { code, stderr } = await runCli(['config', 'check', '--port', 'abc']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/server\.port: expected a whole number, got "abc" \(from command line\)/);
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, getJson, runCli, startCli, submit, type CliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

describe('openhqm start (end to end, SQLite)', () => {
  const dir = tempDir();
  let server: CliProcess;

  beforeAll(async () => {
    server = await startCli(['start'], { OPENHQM_SQLITE__PATH: join(dir, 'db', 'openhqm.db') }).ready();
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await server.exited;
  });

  it.each([
    ['echo', 'Hello World', 'Hello World'],
    ['uppercase', 'hello world', 'HELLO WORLD'],
    ['reverse', 'hello', 'olleh'],
  ])('%s completes with the original’s result shape', async (operation, data, output) => {
    const accepted = await submit(server.url, { operation, data });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'PENDING', correlation_id: expect.any(String), submitted_at: expect.any(String) });
    const result = await finished(server.url, accepted.body.correlation_id as string);
    expect(result).toMatchObject({ status: 'COMPLETED', result: { output, processed_at: expect.any(String) }, error: null });
  });

  it('error ends FAILED with "Test error" and a trail', async () => {
    const accepted = await submit(server.url, { operation: 'error' });
    const id = accepted.body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'FAILED', error: 'Test error', result: null });
    const status = await getJson(`${server.url}/api/v1/status/${id}`);
    expect(status.body).toMatchObject({ correlation_id: id, status: 'FAILED' });
    const events = await getJson(`${server.url}/api/v1/requests/${id}/events`);
    expect((events.body.events as Array<{ to: string }>).map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'FAILED']);
  });

  it('creates the SQLite directory and reports healthy', async () => {
    // tempDir() made the parent only: db/ is the server's doing.
    expect(existsSync(join(dir, 'db', 'openhqm.db'))).toBe(true);
    const health = await getJson(`${server.url}/health`);
    expect(health.body).toMatchObject({ status: 'healthy', components: { queue: 'healthy', cache: 'healthy' } });
  });
});

describe('openhqm CLI', () => {
  it.each(['start', 'api', 'worker', 'config check'])('`%s --help` explains itself', async (command) => {
    const { code, stdout } = await runCli([...command.split(' '), '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: openhqm/);
    expect(stdout).toMatch(/--config/);
  });

  it('says an unknown command is one and lists the commands, instead of passing it to start', async () => {
    const { code, stderr } = await runCli(['bogus']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/unknown command 'bogus' \(commands: start, api, worker, config, routes, healthcheck, keys, top, requests, bridge, help\)/);
    expect(stderr).not.toMatch(/too many arguments/);
    // Options before no command still go to start, the default.
    const bad = await runCli(['--port', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/server\.port: expected a whole number, got "abc" \(from command line\)/);
  });

  it('config check prints the effective configuration with secrets masked', async () => {
    const { code, stdout } = await runCli(['config', 'check', '--json'], {
      OPENHQM_QUEUE__REDIS_URL: 'redis://:hunter2@cache:6379',
      OPENHQM_QUEUE__MQTT_PASSWORD: 'sekret',
      OPENHQM_WORKER__COUNT: '9',
    });
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config.worker.count).toBe(9);
    expect(config.queue.redis_url).toBe('redis://:****@cache:6379');
    expect(config.queue.mqtt_password).toBe('****');
    expect(stdout).not.toContain('hunter2');
  });

  it('refuses a bad configuration with exit code 2 and one message naming every bad key', async () => {
    const { code, stderr } = await runCli(['start'], { OPENHQM_SERVER__PORT: 'abc', OPENHQM_WORKER__COUNT: '0', OPENHQM_QUEUE__TPYE: 'x' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/server\.port/);
    expect(stderr).toMatch(/worker\.count/);
    expect(stderr).toMatch(/queue\.tpye: unknown key \(did you mean "type"\?\)/);
  });

  it('lists a malformed --set with the other problems, exit code 2', async () => {
    const { code, stderr } = await runCli(['config', 'check', '--set', 'badformat'], { OPENHQM_SERVER__PORT: 'abc' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/invalid configuration \(2 problems\)/);
    expect(stderr).toMatch(/--set: expected section\.key=value .*got "badformat"/);
    expect(stderr).toMatch(/server\.port: expected a whole number/);
  });

  it('refuses an unknown backend with exit code 2', async () => {
    const { code, stderr } = await runCli(['start'], { OPENHQM_QUEUE__TYPE: 'carrier-pigeon' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/queue\.type: unknown backend "carrier-pigeon"/);
  });

  it.each([['start'], ['config', 'check']])('`%s` names unknown backends in the same message as the other bad keys', async (...command) => {
    const { code, stderr } = await runCli(command, { OPENHQM_QUEUE__TYPE: 'bogus', OPENHQM_CACHE__TYPE: 'nope', OPENHQM_SERVER__PORT: 'abc' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/invalid configuration \(3 problems\)/);
    expect(stderr).toMatch(/server\.port: expected a whole number, got "abc"/);
    expect(stderr).toMatch(/queue\.type: unknown backend "bogus" \(available: sqlite, memory, redis, postgres(, [a-z_]+)*\) \(from environment OPENHQM_QUEUE__TYPE\)/);
    expect(stderr).toMatch(/cache\.type: unknown backend "nope" \(available: sqlite, memory, redis, postgres(, [a-z_]+)*\) \(from environment OPENHQM_CACHE__TYPE\)/);
  });

  it('refuses to split API and workers over an in-process backend', async () => {
    const { code, stderr } = await runCli(['api'], { OPENHQM_QUEUE__TYPE: 'memory', OPENHQM_CACHE__TYPE: 'memory' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/keeps messages inside one process/);
  });
});

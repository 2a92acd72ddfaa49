/** A user processor module loaded by `openhqm start`, with retries and dead-lettering. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, getJson, runCli, startCli, submit, type CliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));

describe('worker.processor_module', () => {
  const dir = tempDir();
  let server: CliProcess;

  beforeAll(async () => {
    server = await startCli(['start'], {
      OPENHQM_SQLITE__PATH: join(dir, 'module.db'),
      OPENHQM_WORKER__PROCESSOR_MODULE: MODULE,
      OPENHQM_WORKER__RETRY_DELAY_BASE: '0.05',
      OPENHQM_WORKER__RETRY_DELAY_MAX: '0.2',
      OPENHQM_WORKER__MAX_RETRIES: '3',
    }).ready();
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await server.exited;
  });

  it('runs the module and stores what it returns, extra metadata included', async () => {
    const id = (await submit(server.url, { hello: 'world' }, { extra: { tenant: 7 } })).body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'COMPLETED', result: { echo: { hello: 'world' }, metadata_extra: { tenant: 7 } } });
  });

  it('passes attempt, idempotency key and progress', async () => {
    const id = (await submit(server.url, { mode: 'progress' })).body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'COMPLETED', result: { attempt: 1, key: id } });
    // The progress the module reported (50) is on the record.
    expect((await getJson(`${server.url}/api/v1/status/${id}`)).body).toMatchObject({ status: 'COMPLETED', progress: 50 });
  });

  it('retries a failing attempt and keeps each error in the trail', async () => {
    const id = (await submit(server.url, { mode: 'flaky' })).body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'COMPLETED', result: { succeeded_on: 3 } });
    const trail = (await getJson(`${server.url}/api/v1/requests/${id}/events`)).body.events as Array<{ error: string | null }>;
    expect(trail.flatMap((e) => (e.error === null ? [] : [e.error]))).toEqual(['flaky failure 1', 'flaky failure 2']);
  });

  it('fails after the last attempt with the error, every attempt audited', async () => {
    const id = (await submit(server.url, { mode: 'always' })).body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'FAILED', error: 'still down' });
    const trail = (await getJson(`${server.url}/api/v1/requests/${id}/events`)).body.events as Array<{ attempt: number; error: string | null }>;
    expect(trail.filter((e) => e.error === 'still down').map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('does not retry an error marked retryable: false', async () => {
    const id = (await submit(server.url, { mode: 'permanent' })).body.correlation_id as string;
    expect(await finished(server.url, id)).toMatchObject({ status: 'FAILED', error: 'bad input' });
    const trail = (await getJson(`${server.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string }>;
    expect(trail.map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'FAILED']);
  });

  it('a module that cannot be loaded stops start-up with exit code 2', async () => {
    const { code, stderr } = await runCli(['worker'], { OPENHQM_WORKER__PROCESSOR_MODULE: join(dir, 'missing.mjs'), OPENHQM_SQLITE__PATH: join(dir, 'x.db') });
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot load worker\.processor_module/);
  });
});

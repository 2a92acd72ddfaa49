/**
 * `openhqm api` and two `openhqm worker` processes sharing one PostgreSQL (a schema of their own):
 * the schema is migrated by whichever starts first, messages published by the API wake the
 * workers through NOTIFY, and the workers' results reach the API's long-polls through the
 * change feed.
 */
import { describe, expect, it } from 'vitest';
import { getJson, startCli, submit } from '../helpers/cli.js';
import { dropSchema, POSTGRES_URL, requirePostgres, testSchema } from '../helpers/postgres.js';

describe('PostgreSQL shared by separate processes', () => {
  it('long-polls on the API are answered by workers in other processes', async (ctx) => {
    const missing = await requirePostgres();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const schema = testSchema();
    const env = {
      OPENHQM_QUEUE__TYPE: 'postgres',
      OPENHQM_CACHE__TYPE: 'postgres',
      OPENHQM_QUEUE__POSTGRES_URL: POSTGRES_URL,
      OPENHQM_CACHE__POSTGRES_URL: POSTGRES_URL,
      OPENHQM_POSTGRES__SCHEMA: schema,
      // Far longer than the test may run: only a worker's change reaching the API can answer in time.
      OPENHQM_API__MAX_WAIT_SECONDS: '600',
    };
    // All three start at once on a schema that does not exist yet.
    const [api, ...workers] = await Promise.all([startCli(['api'], env).ready(), startCli(['worker'], env).ready(), startCli(['worker'], env).ready()]);
    try {
      const ids = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await submit(api.url, { operation: 'uppercase', data: `item ${i}` })).body.correlation_id as string));
      const answers = await Promise.all(ids.map((id) => getJson(`${api.url}/api/v1/response/${id}?wait=600`)));
      answers.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'COMPLETED', result: { output: `ITEM ${i}` } });
      });
      for (const p of [api, ...workers]) p.kill('SIGTERM');
      for (const p of [api, ...workers]) expect((await p.exited).code).toBe(0);
    } finally {
      for (const p of [api, ...workers]) p.kill('SIGKILL');
      await dropSchema(schema).catch(() => undefined);
    }
  }, 60_000);
});

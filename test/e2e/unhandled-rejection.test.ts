/** An unhandled promise rejection is a bug with unknown effects: the process stops and says so. */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { finished, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const MODULE = fileURLToPath(new URL('../fixtures/stray-rejection.mjs', import.meta.url));

describe('unhandled promise rejection', () => {
  const dir = tempDir();

  it('logs it as fatal, stops gracefully and exits non-zero', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'crash.db'), OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const server = await startCli(['start'], env).ready();
    // A healthy request first: the module itself works.
    const healthy = await submit(server.url, { mode: 'fine' });
    expect(await finished(server.url, healthy.body.correlation_id as string)).toMatchObject({ status: 'COMPLETED' });

    await submit(server.url, { mode: 'stray-rejection' });
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    const lines = server.output.flatMap((line) => {
      try {
        return [JSON.parse(line) as { level?: string; msg?: string; err?: { message?: string } }];
      } catch {
        return [];
      }
    });
    const fatal = lines.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/unhandled promise rejection/);
    expect(fatal?.err?.message).toBe('stray rejection from a processor bug');
    // It stopped in order rather than dying mid-write.
    expect(lines.some((l) => l.msg === 'shutdown complete')).toBe(true);
  }, 60_000);
});

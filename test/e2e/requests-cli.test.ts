/**
 * `openhqm requests …` and `openhqm top` through the real CLI against a real `openhqm start`
 * with authentication on: each tenant sees only its own requests (another's id is "not found"),
 * the queue view needs an admin, the server's code and detail reach the terminal, and the exit
 * code tells a refusal (3) from no server (4).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, TEST_KEYS } from '../helpers/auth.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));
const dir = tempDir('openhqm-requests-cli-');

let server: CliProcess;
/** The environment of every command: the server's URL, and no credential unless a test gives one. */
let env: Record<string, string>;

beforeAll(async () => {
  server = await startCli(['start'], {
    OPENHQM_QUEUE__TYPE: 'memory',
    OPENHQM_CACHE__TYPE: 'memory',
    OPENHQM_WORKER__PROCESSOR_MODULE: MODULE,
    OPENHQM_AUTH__ENABLED: 'true',
    OPENHQM_AUTH__API_KEYS: JSON.stringify(TEST_KEYS),
  }).ready();
  env = { OPENHQM_URL: server.url, OPENHQM_API_KEY: '', OPENHQM_TOKEN: '' };
});

afterAll(async () => {
  server.kill('SIGTERM');
  await server.exited;
});

async function submitAs(key: string, payload: unknown, metadata?: unknown): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ payload, metadata }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { correlation_id: string }).correlation_id;
}

const cli = (args: readonly string[]) => runCli(args, env);
const json = (stdout: string): Record<string, unknown> => JSON.parse(stdout) as Record<string, unknown>;

describe('openhqm requests', () => {
  it('get: the request with its result and trail, for its own tenant only', async () => {
    const id = await submitAs(KEYS.acme, { mode: 'echo', n: 1 });
    const got = await cli(['requests', 'get', id, '--api-key', KEYS.acme, '--wait', '10', '--events', '--json']);
    expect(got.code, got.stderr).toBe(0);
    const body = json(got.stdout);
    expect(body).toMatchObject({ correlation_id: id, status: 'COMPLETED', result: { echo: { mode: 'echo', n: 1 } } });
    expect((body.events as Array<{ to: string }>).map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);

    // For people: the fields and the trail as text; a bearer credential works as well.
    const text = await cli(['requests', 'get', id, '--token', KEYS.acmeReader, '--events']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^correlation_id\\s+${id}$`, 'm'));
    expect(text.stdout).toMatch(/^status\s+COMPLETED$/m);
    expect(text.stdout).toMatch(/PROCESSING -> COMPLETED/);

    // Another tenant's request is not there; no credential is a 401. Both exit 3 with the server's code.
    const other = await cli(['requests', 'get', id, '--api-key', KEYS.globex]);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/404 HQM_ERR_NOT_FOUND: Request not found or expired/);
    expect(other.stdout).toBe('');
    const anonymous = await cli(['requests', 'get', id, '--json']);
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toMatch(/401 HQM_ERR_UNAUTHENTICATED/);
    expect(json(anonymous.stdout)).toMatchObject({ code: 'HQM_ERR_UNAUTHENTICATED' });
  });

  it('get: a FAILED request is a successful read (its 4xx LRO status is not an error of the call)', async () => {
    const id = await submitAs(KEYS.acme, { mode: 'permanent' });
    const got = await cli(['requests', 'get', id, '--api-key', KEYS.acme, '--wait', '10', '--json']);
    expect(got.code, got.stderr).toBe(0);
    expect(json(got.stdout)).toMatchObject({ correlation_id: id, status: 'FAILED', error: 'bad input' });
  });

  it('list: filters, pages with the cursor, stays within the tenant, and names a bad filter', async () => {
    const ids = [await submitAs(KEYS.globex, { mode: 'echo', i: 1 }), await submitAs(KEYS.globex, { mode: 'echo', i: 2 })];
    for (const id of ids) expect((await cli(['requests', 'get', id, '--api-key', KEYS.globex, '--wait', '10', '--json'])).code).toBe(0);

    const first = await cli(['requests', 'list', '--api-key', KEYS.globex, '--status', 'COMPLETED', '--limit', '1', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const page = json(first.stdout) as { requests: Array<{ correlation_id: string }>; next_cursor: string };
    expect(page.requests.map((r) => r.correlation_id)).toEqual([ids[1]]);
    const second = await cli(['requests', 'list', '--api-key', KEYS.globex, '--status', 'COMPLETED', '--limit', '1', '--cursor', page.next_cursor, '--json']);
    expect((json(second.stdout) as typeof page).requests.map((r) => r.correlation_id)).toEqual([ids[0]]);

    // The table for people, with the next page's flag on stderr.
    const table = await cli(['requests', 'list', '--api-key', KEYS.globex, '--limit', '1']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^CORRELATION_ID\s+STATUS\s+SUBMITTED_AT\s+UPDATED_AT\s+PROGRESS$/);
    expect(table.stdout).toContain(ids[1]);
    expect(table.stderr).toMatch(/^more: add --cursor \S+$/m);

    // acme's list holds none of globex's requests.
    const acme = await cli(['requests', 'list', '--api-key', KEYS.acme, '--limit', '1000', '--json']);
    const acmeIds = (json(acme.stdout) as typeof page).requests.map((r) => r.correlation_id);
    for (const id of ids) expect(acmeIds).not.toContain(id);

    const bad = await cli(['requests', 'list', '--api-key', KEYS.acme, '--status', 'NOPE', '--since', 'yesterday']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/422 HQM_ERR_VALIDATION: query\.status: unknown status "NOPE".*; query\.since: must be an ISO 8601/);
  });

  it('cancel: a waiting request is CANCELLED; a second cancel is refused with the status it ended in', async () => {
    const id = await submitAs(KEYS.acme, { mode: 'echo' }, { delay: 3600 });
    const globex = await cli(['requests', 'cancel', id, '--api-key', KEYS.globex]);
    expect(globex.code).toBe(3);
    expect(globex.stderr).toMatch(/404 HQM_ERR_NOT_FOUND/);

    const cancelled = await cli(['requests', 'cancel', id, '--api-key', KEYS.acme]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(/^status\s+CANCELLED$/m);
    const again = await cli(['requests', 'cancel', id, '--api-key', KEYS.acme, '--json']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/409 HQM_ERR_ALREADY_FINISHED: the request already finished: it is CANCELLED/);
    expect(json(again.stdout)).toMatchObject({ code: 'HQM_ERR_ALREADY_FINISHED', status: 'CANCELLED' });
  });

  it('replay: an admin replays a dead letter with a fixed payload and it completes under the same id', async () => {
    const id = await submitAs(KEYS.acme, { mode: 'permanent' });
    expect((await cli(['requests', 'get', id, '--api-key', KEYS.acme, '--wait', '10', '--json'])).code).toBe(0);
    const letter = await waitFor(
      async () => {
        const res = await fetch(`${server.url}/api/v1/dead-letters`, { headers: { 'x-api-key': KEYS.admin } });
        const page = (await res.json()) as { dead_letters: Array<{ id: string; correlation_id: string }> };
        return page.dead_letters.find((d) => d.correlation_id === id);
      },
      { what: 'the dead letter' },
    );
    const body = join(dir, 'replay.json');
    writeFileSync(body, JSON.stringify({ payload: { mode: 'echo', fixed: true } }));

    const tenant = await cli(['requests', 'replay', letter.id, '--api-key', KEYS.acme, '--body', body]);
    expect(tenant.code).toBe(3);
    expect(tenant.stderr).toMatch(/403 HQM_ERR_FORBIDDEN/);

    const replayed = await cli(['requests', 'replay', letter.id, '--api-key', KEYS.admin, '--body', body, '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(json(replayed.stdout)).toMatchObject({ correlation_id: id, status: 'PENDING' });
    const done = await cli(['requests', 'get', id, '--api-key', KEYS.acme, '--wait', '10', '--json']);
    expect(json(done.stdout)).toMatchObject({ status: 'COMPLETED', result: { echo: { mode: 'echo', fixed: true } } });

    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{payload');
    const usage = await cli(['requests', 'replay', letter.id, '--api-key', KEYS.admin, '--body', notJson]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--body .* is not JSON/);
  });

  it('exits 4 when nothing answers at --url, and 2 without a --url', async () => {
    const port = await freePort();
    const gone = await runCli(['requests', 'get', 'x', '--url', `http://127.0.0.1:${port}`], { OPENHQM_URL: '' });
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/no answer \(ECONNREFUSED\)/);
    const none = await runCli(['requests', 'list'], { OPENHQM_URL: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--url \(or OPENHQM_URL\) is required/);
  });
});

describe('openhqm top', () => {
  it('--once: the queue table for an admin; a tenant key is refused (exit 3)', async () => {
    const id = await submitAs(KEYS.acme, { mode: 'echo' }, { delay: 3600 });
    const once = await cli(['top', '--once', '--api-key', KEYS.admin, '--json']);
    expect(once.code, once.stderr).toBe(0);
    const answer = json(once.stdout) as { queues: Array<{ name: string; depth: number; delayed: number }> };
    const queue = answer.queues.find((q) => q.name === 'default');
    expect(queue?.delayed).toBeGreaterThanOrEqual(1);

    const table = await cli(['top', '--once', '--api-key', KEYS.admin]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^QUEUE\s+DEPTH\s+DELAYED\s+IN_FLIGHT\s+DEAD\s+OLDEST\s+DONE\/MIN\s+FAILED\/MIN\s+WEIGHT$/m);
    expect(table.stdout).toMatch(new RegExp(`^default\\s+${queue?.depth}\\s+${queue?.delayed}\\s`, 'm'));

    const tenant = await cli(['top', '--once', '--api-key', KEYS.acme]);
    expect(tenant.code).toBe(3);
    expect(tenant.stderr).toMatch(/403 HQM_ERR_FORBIDDEN/);
    expect((await cli(['requests', 'cancel', id, '--api-key', KEYS.acme])).code).toBe(0);
  });

  it('live: one JSON line per poll until SIGTERM, then exit 0', async () => {
    const top = startCli(['top', '--json', '--interval', '0.2', '--api-key', KEYS.admin], env);
    const frames = () => top.output.filter((l) => l.startsWith('{"queues":'));
    await waitFor(() => frames().length >= 2, { what: 'two frames of openhqm top' });
    top.kill('SIGTERM');
    expect(await top.exited).toEqual({ code: 0, signal: null });
  });

  it('live: a refusal ends the view at once with exit 3 (asking again would not help)', async () => {
    const top = startCli(['top', '--interval', '0.2'], env);
    expect((await top.exited).code).toBe(3);
    expect(top.output.join('\n')).toMatch(/401 HQM_ERR_UNAUTHENTICATED/);
  });
});

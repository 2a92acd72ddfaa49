/**
 * Webhooks through the real CLI: a request's webhook that failed once is waiting out its backoff
 * when `openhqm start` is stopped; the retry is a queue message in the SQLite file, so the
 * restarted process sends it — same webhook id, verified by the `standardwebhooks` package —
 * and the trail shows both attempts. Also the admin list and the 422 for a literal internal URL.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { newSecret, WebhookReceiver } from '../helpers/webhook-receiver.js';

interface TrailEvent {
  readonly note?: { kind: string; detail: Record<string, unknown> };
}

async function webhookStates(url: string, id: string): Promise<unknown[]> {
  const { body } = await getJson(`${url}/api/v1/requests/${id}/events`);
  return (body.events as TrailEvent[]).flatMap((e) => (e.note?.kind === 'webhook' ? [e.note.detail.state] : []));
}

describe('webhooks (CLI)', () => {
  const dir = tempDir();
  const secret = newSecret();
  const env = {
    OPENHQM_SQLITE__PATH: join(dir, 'webhooks.db'),
    OPENHQM_DELIVERY__WEBHOOKS__SECRET: secret,
    // The receiver listens on 127.0.0.1; the test opens only that host, as an operator would.
    OPENHQM_DELIVERY__WEBHOOKS__ALLOWED_HOSTS: '127.0.0.1',
    // Long enough that the retry is still waiting when the process stops, short for the test.
    OPENHQM_DELIVERY__WEBHOOKS__RETRY_BASE_SECONDS: '4',
    OPENHQM_DELIVERY__WEBHOOKS__RETRY_MAX_SECONDS: '4',
  };

  it('delivers a webhook after a restart in the middle of its backoff', async () => {
    const receiver = await new WebhookReceiver([secret]).start();
    receiver.program.push({ status: 503 });
    const first = await startCli(['start'], env).ready();
    const accepted = await submit(first.url, { operation: 'echo', data: 'restart' }, { callback_url: receiver.url });
    expect(accepted.status).toBe(202);
    const id = accepted.body.correlation_id as string;
    await waitFor(async () => (await webhookStates(first.url, id)).includes('retrying'), { what: 'the first, failed attempt', timeoutMs: 20_000 });
    expect(receiver.calls).toHaveLength(1);
    first.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = await startCli(['start'], env).ready();
    await waitFor(() => receiver.calls.length === 2, { what: 'the retry from the restarted process', timeoutMs: 30_000 });
    const [failed, delivered] = receiver.calls;
    expect(delivered?.id).toBe(failed?.id);
    expect(delivered?.verifiedBy).toEqual([0]);
    expect(delivered?.body).toMatchObject({ event: 'request.completed', correlation_id: id, status: 'COMPLETED', result: expect.objectContaining({ output: 'restart' }) });
    await waitFor(async () => (await webhookStates(second.url, id)).includes('delivered'), { what: 'the delivered note' });
    expect(await webhookStates(second.url, id)).toEqual(['queued', 'retrying', 'delivered']);

    const refused = await submit(second.url, {}, { callback_url: 'http://169.254.169.254/latest/meta-data/' });
    expect(refused.status).toBe(422);
    const failedList = await getJson(`${second.url}/api/v1/webhook-deliveries?status=failed`);
    expect(failedList).toEqual({ status: 200, body: { deliveries: [], next_cursor: null } });
    second.kill('SIGTERM');
    await second.exited;
  }, 90_000);
});

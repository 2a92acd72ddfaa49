/**
 * The SQS queue against a moto server of this file's own, as a standard queue and as a FIFO
 * queue (the url names `….fifo`). moto is not AWS: see the SQS section of docs/adapters.md for
 * where they differ.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factory } from '../../src/adapters/queue/sqs/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import type { HealthReport } from '../../src/ports/health.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import { startMoto, type Moto } from '../helpers/sqs.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
// One moto per suite: a moto serving hundreds of queues and long polls at once answers slowly.
const motos: Array<Promise<Moto | { skip: string }>> = [];
const newMoto = (): Promise<Moto | { skip: string }> => {
  const moto = startMoto();
  motos.push(moto);
  return moto;
};
const started = newMoto();

beforeAll(async () => {
  await started;
}, 60_000);
afterAll(async () => {
  for (const moto of await Promise.all(motos.map((m) => m.catch(() => undefined)))) if (moto !== undefined && !('skip' in moto)) await moto.stop();
});

function connection(m: Moto, fifo: boolean): Record<string, unknown> {
  return {
    sqs_endpoint_url: m.endpoint,
    sqs_region: 'us-east-1',
    // moto decides which FIFO groups are busy when a receive starts and not again while it waits,
    // so a group freed during a long poll stays blocked to it: short polls (AWS re-checks).
    ...(fifo ? { sqs_queue_url: m.queueUrl(`hqm-fifo-${randomUUID().slice(0, 8)}.fifo`), sqs_wait_seconds: 1 } : {}),
  };
}

for (const fifo of [false, true]) {
  describeQueueBackend(fifo ? 'sqs (FIFO)' : 'sqs', async () => {
    const m = fifo ? await newMoto() : await started;
    if ('skip' in m) return m;
    const base = connection(m, fifo);
    return {
      open: (extra) => factory.create({ ...base, ...extra }, context),
      // A crash settles nothing and stops polling: what it held comes back when its visibility lapses.
      crash: (backend) => backend.close(),
      unreachable: () => unreachableHealth(m),
    };
  });
}

/** health() of a queue whose endpoint went through a proxy that then vanished. */
async function unreachableHealth(m: Moto): Promise<HealthReport> {
  const proxy = await vanishingProxy('127.0.0.1', m.port);
  const queue = await factory.create({ sqs_endpoint_url: `http://127.0.0.1:${proxy.port}` }, context);
  proxy.vanish();
  try {
    return await queue.health();
  } finally {
    await queue.close();
  }
}

describe('sqs specifics', () => {
  const opened: QueueBackend[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((q) => q.close()));
  });
  const open = async (extra: Record<string, unknown> = {}): Promise<QueueBackend> => {
    const m = await started;
    if ('skip' in m) throw new Error('unreachable');
    const q = await factory.create({ ...connection(m, false), ...extra }, context);
    opened.push(q);
    return q;
  };

  it('refuses a delayed publish on a FIFO queue and declares no delays there', async (ctx) => {
    const m = await started;
    if ('skip' in m) return ctx.skip(m.skip);
    const q = await factory.create(connection(m, true), context);
    opened.push(q);
    expect(q.capabilities).toMatchObject({ delays: null, delay: false, ordering: 'per-key' });
    const error = await q.publish('later', { body: 'x', delayMs: 5000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HQM_ERR_UNSUPPORTED' });
  });

  it('fails create() with HQM_ERR_BACKEND_UNAVAILABLE when nothing answers at the endpoint, and names the bad key of a bad url', async () => {
    const proxy = await vanishingProxy('127.0.0.1', 9);
    proxy.vanish();
    const error = await factory.create({ sqs_endpoint_url: `http://127.0.0.1:${proxy.port}` }, context).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
    const bad = await factory.create({ sqs_queue_url: 'not a url' }, context).catch((e: unknown) => e);
    expect(String((bad as Error).message)).toContain('sqs.sqs_queue_url');
  });

  it('the url names the request queue; named queues and dead-letter queues are created beside it', async (ctx) => {
    const m = await started;
    if ('skip' in m) return ctx.skip(m.skip);
    const stem = `hqm-url-${randomUUID().slice(0, 8)}`;
    const q = await open({ sqs_queue_url: m.queueUrl(stem), request_queue_name: 'openhqm-requests' });
    await q.publish('openhqm-requests', { body: 'default' });
    await q.publish('openhqm-requests.fast', { body: 'fast' });
    const { SQSClient, ListQueuesCommand } = await import('@aws-sdk/client-sqs');
    const raw = new SQSClient({ region: 'us-east-1', endpoint: m.endpoint });
    try {
      const names = ((await raw.send(new ListQueuesCommand({ QueueNamePrefix: stem }))).QueueUrls ?? []).map((u) => u.split('/').at(-1)).sort();
      expect(names).toEqual([stem, `${stem}-dlq`, `${stem}-fast`, `${stem}-fast-dlq`].sort());
    } finally {
      raw.destroy();
    }
  });

  it('never deletes through a lapsed receipt handle: the redelivered copy stays in flight', async (ctx) => {
    const m = await started;
    if ('skip' in m) return ctx.skip(m.skip);
    const q = await open();
    const queue = `hqm-test-${randomUUID()}`;
    await q.publish(queue, { body: 'once' });
    const seen: Array<{ ack(): Promise<void>; deliveryCount: number }> = [];
    const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: 1000 }, async (d) => {
      seen.push(d);
    });
    await waitFor(() => seen.length >= 2, { what: 'a redelivery after the lease lapsed' });
    await sub.stop();
    // moto would delete through the old handle; the adapter must not send it.
    await seen[0]?.ack();
    expect((await q.stats(queue)).depth + (await q.stats(queue)).inFlight).toBe(1);
    expect(seen[1]?.deliveryCount).toBe(2);
  });

  it('lists a dead letter another process wrote, with its reason, and refuses to manage it one by one', async (ctx) => {
    const m = await started;
    if ('skip' in m) return ctx.skip(m.skip);
    const [writer, reader] = [await open(), await open()];
    const queue = `hqm-test-${randomUUID()}`;
    await writer.publish(queue, { body: 'poison' });
    const sub = writer.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => d.deadLetter('no good'));
    await waitFor(async () => (await reader.stats(queue)).deadLettered === 1, { what: 'the other process to count the dead letter' });
    await sub.stop();
    const [letter] = await reader.deadLetters(queue, { limit: 10 });
    expect(letter).toMatchObject({ body: 'poison', reason: 'no good', attempts: 1 });
    expect(await reader.getDeadLetter(queue, letter?.id ?? '')).toEqual(letter);
    await expect(reader.replayDeadLetter(queue, letter?.id ?? '', { body: 'x' })).rejects.toMatchObject({ code: 'HQM_ERR_UNSUPPORTED' });
    // Reading gave it back: it is still there for the next reader.
    expect(await writer.deadLetters(queue, { limit: 10 })).toHaveLength(1);
  });
});

/**
 * The SQS anchor, run as its own Node process by the SQS bench: the same SDK the adapter uses
 * (@aws-sdk/client-sqs) on the same moto, doing what the adapter does without anything else —
 * SendMessage with 64 in flight while receivers (long polls of up to 10) delete each message one
 * by one; then, on a fresh queue, sending alone and receiving alone. Prints one JSON line with the
 * rates. The queues go with the moto server the bench started.
 *
 * Env: SQS_ENDPOINT, QUEUE_PREFIX, JOBS, IN_FLIGHT.
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const endpoint = process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:5000';
const prefix = process.env.QUEUE_PREFIX ?? 'hqm-bench-anchor-';
const jobs = Number(process.env.JOBS ?? 5_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);
const body = JSON.stringify({ v: 1, correlation_id: '00000000-0000-4000-8000-000000000000', payload: { operation: 'echo', data: 'benchmark payload' }, metadata: { priority: 0, timeout: 300 } });
const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });

async function create(name: string): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
}

async function sendAll(url: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
      }
    }),
  );
}

/** Receives until `jobs` messages were deleted, with enough pollers of 10 to hold `inFlight`; resolves with the seconds from `started()`. */
async function receiveAll(url: string, started: () => number): Promise<number> {
  const deleted = new Set<string>();
  await Promise.all(
    Array.from({ length: Math.ceil(inFlight / 10) }, async () => {
      while (deleted.size < jobs) {
        const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300 }));
        await Promise.all(
          (answer.Messages ?? []).map(async (m) => {
            // A copy received again after a lapse (a slow moto) is deleted once: the other handle is refused.
            await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle })).catch(() => undefined);
            deleted.add(m.MessageId ?? '');
          }),
        );
      }
    }),
  );
  return (performance.now() - started()) / 1000;
}

const both = await create(`${prefix}both`);
const t0 = performance.now();
const received = receiveAll(both, () => t0);
await sendAll(both);
const combined = jobs / (await received);

const apart = await create(`${prefix}apart`);
const t1 = performance.now();
await sendAll(apart);
const publishes = jobs / ((performance.now() - t1) / 1000);
const t2 = performance.now();
const consuming = jobs / (await receiveAll(apart, () => t2));
sqs.destroy();
process.stdout.write(`${JSON.stringify({ combined, publishes, consuming })}\n`);

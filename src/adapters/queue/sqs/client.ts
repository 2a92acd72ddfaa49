/**
 * The SQS client of one backend: the AWS SDK v3, loaded when the backend is created (D240), each
 * call translated at this boundary (errors.ts), and every OpenHQM queue resolved to its SQS queue
 * and dead-letter queue once, created where missing (D241, D244).
 *
 * @module
 */
import type * as Sdk from '@aws-sdk/client-sqs';
import type { Logger } from '../../../ports/logger.js';
import type { SqsQueueOptions } from './config.js';
import { SQS_MAX_MESSAGE_BYTES } from './config.js';
import { isMissingQueue, translateSqsError } from './errors.js';
import { deadLetterName, namingBase, sqsName, type NamingBase } from './names.js';

/** SQS's longest retention (14 days): delayed and chained messages must outlive their wait. */
const LONGEST_RETENTION_S = 1_209_600;
/** The redrive policy's net under the worker's own attempt count (D244): releases are receives too. */
export const MAX_RECEIVES = 100;

export interface QueueUrls {
  readonly url: string;
  readonly dead: string;
}

export type SqsModule = typeof Sdk;

export class SqsClient {
  readonly base: NamingBase;
  readonly #urls = new Map<string, Promise<QueueUrls>>();

  private constructor(
    readonly sdk: SqsModule,
    private readonly client: Sdk.SQSClient,
    private readonly options: SqsQueueOptions,
    private readonly logger: Logger,
  ) {
    this.base = namingBase(options.sqs_queue_url, options.request_queue_name);
  }

  static async open(options: SqsQueueOptions, logger: Logger): Promise<SqsClient> {
    const sdk = await import('@aws-sdk/client-sqs');
    const client = new sdk.SQSClient({
      region: options.sqs_region,
      ...(options.sqs_endpoint_url === '' ? {} : { endpoint: options.sqs_endpoint_url }),
      // A long poll waits 20 s: the socket may be quiet that long, never much longer.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000 },
      maxAttempts: 2,
    });
    return new SqsClient(sdk, client, options, logger);
  }

  get fifo(): boolean {
    return this.base.fifo;
  }

  /** Sends `command`, translating any failure; `signal` aborts it (a long poll at close). */
  async call<O = unknown>(what: string, command: object, signal?: AbortSignal): Promise<O> {
    try {
      return (await this.client.send(command as never, signal === undefined ? {} : { abortSignal: signal })) as O;
    } catch (error) {
      throw translateSqsError(error, what);
    }
  }

  /** The SQS queue and dead-letter queue of `queue`, created on first use (by any process). */
  urls(queue: string): Promise<QueueUrls> {
    let urls = this.#urls.get(queue);
    if (urls === undefined) {
      urls = this.#ensure(queue);
      this.#urls.set(queue, urls);
      urls.catch(() => this.#urls.delete(queue));
    }
    return urls;
  }

  /** Forgets what `urls` found out, so a queue deleted under us is created again on next use. */
  forget(queue: string): void {
    this.#urls.delete(queue);
  }

  async #ensure(queue: string): Promise<QueueUrls> {
    const fifo: Record<string, string> = this.base.fifo ? { FifoQueue: 'true' } : {};
    const retention = Math.min(LONGEST_RETENTION_S, Math.max(60, this.options.dead_letter_retention_seconds));
    const dead = await this.ensureQueue(deadLetterName(this.base, queue), { ...fifo, MessageRetentionPeriod: String(retention), MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES) });
    const arn = await this.attribute(dead, 'QueueArn');
    const redrive = JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES });
    if (this.base.stem !== '' && queue === this.base.requestQueue) {
      // The configured queue is the operator's: created when missing, else only given a redrive policy it lacks.
      const url = await this.ensureQueue(sqsName(this.base, queue), { ...fifo, MessageRetentionPeriod: String(LONGEST_RETENTION_S), MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES), RedrivePolicy: redrive });
      if ((await this.attribute(url, 'RedrivePolicy')) === undefined) {
        await this.call(`adding a redrive policy to ${url}`, new this.sdk.SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: redrive } }));
      }
      return { url, dead };
    }
    const url = await this.ensureQueue(sqsName(this.base, queue), {
      ...fifo,
      MessageRetentionPeriod: String(LONGEST_RETENTION_S),
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
      RedrivePolicy: redrive,
    });
    return { url, dead };
  }

  /** The url of queue `name`, created with `attributes` when missing (the same attributes everywhere, so creating twice is harmless). */
  async ensureQueue(name: string, attributes: Record<string, string>): Promise<string> {
    try {
      const found = await this.client.send(new this.sdk.GetQueueUrlCommand({ QueueName: name }));
      if (found.QueueUrl !== undefined) return found.QueueUrl;
    } catch (error) {
      if (!isMissingQueue(error)) throw translateSqsError(error, `looking up the SQS queue ${name}`);
    }
    const created = await this.call<Sdk.CreateQueueCommandOutput>(`creating the SQS queue ${name}`, new this.sdk.CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    this.logger.info({ queue: name }, 'created an SQS queue');
    if (created.QueueUrl === undefined) throw translateSqsError(new Error('no QueueUrl in the answer'), `creating the SQS queue ${name}`);
    return created.QueueUrl;
  }

  async attribute(url: string, name: Sdk.QueueAttributeName): Promise<string | undefined> {
    return (await this.attributes(url, [name]))[name];
  }

  async attributes(url: string, names: Sdk.QueueAttributeName[]): Promise<Partial<Record<string, string>>> {
    const out = await this.call<Sdk.GetQueueAttributesCommandOutput>(`reading the attributes of ${url}`, new this.sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
    return out.Attributes ?? {};
  }

  /** One cheap request that needs SQS to answer (the health probe). */
  async probe(signal?: AbortSignal): Promise<void> {
    const prefix = this.base.stem === '' ? 'openhqm' : this.base.stem;
    await this.call('probing SQS', new this.sdk.ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1 }), signal);
  }

  close(): void {
    this.client.destroy();
  }
}

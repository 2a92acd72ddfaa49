/**
 * `queue.type: azure_eventhubs` — the Kafka queue with a preset (D268): the namespace's Kafka
 * endpoint (port 9093, TLS, SASL PLAIN from the connection string), the Event Hub
 * (`queue.azure_eventhubs_name`) as the default queue's topic, `<hub>.<name>` for a named
 * queue's, and `queue.azure_eventhubs_consumer_group` as the consumer groups' prefix. Everything
 * else — commits, delay tiers, dead letters, stats — is the Kafka adapter's.
 *
 * @module
 */
import { z } from 'zod';
import type { QueueBackendFactory } from '../../../ports/adapter.js';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';
import { parseOptions } from '../../shared/options.js';
import { DEFAULT_MAX_MESSAGE_BYTES, kafkaTuningShape, tuningOf, type KafkaSettings } from './config.js';
import { KafkaQueue } from './index.js';
import { eventHubsEndpoint } from './event-hubs-endpoint.js';

export const eventHubsOptionsSchema = z
  .object({
    request_queue_name: z.string().min(1).default('openhqm-requests'),
    azure_eventhubs_connection_string: z.string().default(''),
    azure_eventhubs_name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/, 'must be an Event Hub name: letters, digits, ".", "_" or "-"').default('openhqm'),
    azure_eventhubs_consumer_group: z.string().min(1).default('$Default'),
    ...kafkaTuningShape,
    // Event Hubs takes at most 1 MiB per event (Standard and above), headers included.
    max_message_bytes: z.number().int().min(1024).max(1_000_000).default(DEFAULT_MAX_MESSAGE_BYTES),
  })
  .extend(deadLetterOptionsSchema.shape);

export type EventHubsOptions = z.infer<typeof eventHubsOptionsSchema>;

/** The Kafka settings the preset makes of the Event Hubs options. */
export function eventHubsSettings(options: EventHubsOptions): KafkaSettings {
  const endpoint = eventHubsEndpoint(options.azure_eventhubs_connection_string, options.azure_eventhubs_name);
  return {
    type: 'azure_eventhubs',
    brokers: [endpoint.broker],
    groupId: options.azure_eventhubs_consumer_group,
    ssl: true,
    sasl: endpoint.sasl,
    rename: { from: options.request_queue_name, to: options.azure_eventhubs_name },
    startupQueue: options.request_queue_name,
    ...tuningOf(options),
  };
}

export const factory: QueueBackendFactory = {
  type: 'azure_eventhubs',
  async create(raw, context) {
    const options = parseOptions(eventHubsOptionsSchema, raw, 'azure_eventhubs');
    return KafkaQueue.open(eventHubsSettings(options), context.logger);
  },
};

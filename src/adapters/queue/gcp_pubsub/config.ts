/** Options of the Pub/Sub queue: the original's `queue.gcp_*` keys, the `gcp_pubsub:` section and the queue's own settings. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';

export const pubsubQueueOptionsSchema = deadLetterOptionsSchema.extend({
  /** Empty: the project of the credentials (or `openhqm-local` on an emulator). */
  gcp_project_id: z.string().default(''),
  /** A service-account key file; empty: Application Default Credentials. */
  gcp_credentials_path: z.string().default(''),
  /** Most messages one pull asks for (the free slots of the consumer cap it further). */
  gcp_max_messages: z.number().int().min(1).max(1000).default(10),
  /** queue.max_message_bytes; unset: 9 MiB (Pub/Sub takes 10 MB per message, attributes included). */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .max(10_000_000 - 64 * 1024, 'must leave room for the attributes within Pub/Sub\'s 10 MB message limit')
    .default(9 * 1024 * 1024),
  /** host:port of an emulator (plain-text gRPC), or another endpoint; empty: Google's (or PUBSUB_EMULATOR_HOST, which the client reads itself). */
  endpoint: z
    .string()
    .regex(/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}$|^$/, 'must be host:port')
    .default(''),
  /** Put before every topic and subscription name; it must start with a letter (Pub/Sub's rule for names). */
  prefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9._~+%-]*$/, 'must start with a letter and hold only letters, digits and . _ ~ + % -')
    .default('openhqm.'),
  /**
   * Partition keys become ordering keys and the queue's subscription delivers them in order,
   * one at a time per key (D254). Fixed when a subscription is created: changing it needs a new prefix.
   */
  ordering: z.boolean().default(false),
  /** How long a call to Pub/Sub may take before the server counts as unreachable. */
  request_timeout_ms: z.number().int().min(100).default(10_000),
});

export type PubSubQueueOptions = z.infer<typeof pubsubQueueOptionsSchema>;

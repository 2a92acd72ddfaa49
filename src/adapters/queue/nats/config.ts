/** Options of the NATS JetStream queue: `queue.nats_url`, `queue.max_message_bytes`, the queue's dead-letter bounds and the `nats:` section. */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';

/** Stream and bucket names take letters, digits, `-` and `_` (no `.`, `*`, `>`, spaces or path separators). */
const NAME = /^[A-Za-z0-9_-]{1,32}$/;
/** A subject prefix: one or more tokens of letters, digits, `-` and `_`, separated by dots. */
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export const natsQueueOptionsSchema = deadLetterOptionsSchema.extend({
  /** One server or a comma-separated list (`nats://user:password@host:4222`); a cluster's other members are learnt from the server. */
  nats_url: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** Streams are `<stream_prefix>_<queue>` (and `…_DLQ`), so several deployments can share one server. */
  stream_prefix: z.string().regex(NAME, 'must be 1–32 letters, digits, "-" or "_"').default('OPENHQM'),
  /** Subjects are `<subject_prefix>.<queue>`, where outside producers publish. */
  subject_prefix: z.string().regex(SUBJECT, 'must be dot-separated tokens of letters, digits, "-" or "_"').default('openhqm'),
  /** Copies of every stream: 1 on a single server, 3 on a cluster (R3 survives the loss of a node). */
  replicas: z.number().int().min(1).max(5).default(1),
  /** Where the streams keep their messages; `memory` loses them when the server stops. */
  storage: z.enum(['file', 'memory']).default('file'),
  /** User and password or token when they are not in the URL. */
  username: z.string().default(''),
  password: z.string().default(''),
  token: z.string().default(''),
  /** How long connecting (at start-up) may take before it fails. */
  connect_timeout_ms: z.number().int().min(100).default(10_000),
  /** A JetStream call (publish, settle, stream or consumer request) without an answer after this long fails (503 to a client). */
  request_timeout_ms: z.number().int().min(100).default(5_000),
  /** Largest message body; the server's max_payload (less room for headers) caps it. */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
});

export type NatsQueueOptions = z.infer<typeof natsQueueOptionsSchema>;

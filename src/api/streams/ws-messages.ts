/**
 * The messages a WebSocket client may send on `/api/v1/ws`, parsed once at the edge: a
 * message that is not one of them is answered with a typed error naming the field, and the
 * connection lives on.
 *
 * @module
 */
import { z } from 'zod';
import { HqmError, ValidationError, type ErrorCode } from '../../core/errors.js';

/** Most ids one subscribe or unsubscribe may name (the per-connection cap still applies). */
export const MAX_IDS_PER_MESSAGE = 1000;

/** Echoed on the answers to a message, so a client can tell which message they answer. */
const ref = z.union([z.string().max(256), z.number()]).optional();
const ids = z.array(z.string().max(1024)).min(1).max(MAX_IDS_PER_MESSAGE);

const clientMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('subscribe'),
      ids,
      /** Per id, the `seq` of the last entry already seen: resumes after it, as SSE's Last-Event-ID. */
      after: z.record(z.string().max(1024), z.number().int().min(0).max(1e9)).optional(),
      ref,
    })
    .strict(),
  z.object({ type: z.literal('unsubscribe'), ids, ref }).strict(),
  z
    .object({
      type: z.literal('submit'),
      /** The body of POST /api/v1/submit, validated by that route. */
      request: z.record(z.string(), z.unknown()),
      idempotency_key: z.string().optional(),
      ref,
    })
    .strict(),
]);

export type ClientMessage = z.infer<typeof clientMessage>;

/** The text of one message as a ClientMessage; throws an HqmError a client can act on. */
export function parseClientMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ClientMessage {
  if (isBinary) throw new HqmError('HQM_ERR_MALFORMED_BODY', 'messages must be JSON text frames, not binary');
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HqmError('HQM_ERR_MALFORMED_BODY', 'the message is not valid JSON');
  }
  const parsed = clientMessage.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(parsed.error.issues.map((issue) => ({ path: ['message', ...issue.path.map(String)].join('.'), message: issue.message })));
}

/** The `ref` of a message that failed to parse, when it had a usable one. */
export function refOf(data: Buffer | ArrayBuffer | Buffer[]): string | number | undefined {
  try {
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const value = (JSON.parse(text) as { ref?: unknown } | null)?.ref;
    return ref.safeParse(value).success ? (value as string | number | undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** An error as the socket tells it: the HTTP API's `{code, detail}`, and each field at fault. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly detail: string;
  readonly issues?: readonly { readonly loc: readonly string[]; readonly msg: string }[];
  readonly correlation_id?: string;
  readonly ref?: string | number;
}

export function errorMessage(error: HqmError, extra: { correlation_id?: string; ref?: string | number | undefined } = {}): ErrorMessage {
  const issues = error instanceof ValidationError ? error.issues.map((i) => ({ loc: i.path.split('.'), msg: i.message })) : undefined;
  const detail = error.code === 'HQM_ERR_INTERNAL' ? 'Internal Server Error' : error.message;
  return {
    type: 'error',
    code: error.code,
    detail,
    ...(issues === undefined ? {} : { issues }),
    ...(extra.correlation_id === undefined ? {} : { correlation_id: extra.correlation_id }),
    ...(extra.ref === undefined ? {} : { ref: extra.ref }),
  };
}

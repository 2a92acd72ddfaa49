/**
 * kafkajs errors in the terms of the error catalogue. Whatever says "the cluster cannot answer
 * right now" (refused or dropped connections, timeouts, a leader or coordinator moving, retries
 * exhausted, failed authentication) is HQM_ERR_BACKEND_UNAVAILABLE: a 503 with Retry-After at the
 * API, a back-off in the worker. A record the broker finds too large is HQM_ERR_BODY_TOO_LARGE.
 * Nothing is matched on message text: kafkajs names its errors by class and protocol type.
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

interface KafkaJsError extends Error {
  readonly type?: string;
  readonly cause?: unknown;
}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The protocol type of a kafkajs error, looking through the retry wrappers kafkajs adds. */
function protocolType(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = (e as KafkaJsError).cause, depth += 1) {
    const type = (e as KafkaJsError).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

export function translateKafkaError(error: unknown, what: string): unknown {
  if (isHqmError(error) || !(error instanceof Error)) return error;
  const type = protocolType(error);
  if (type !== undefined && TOO_LARGE.has(type)) {
    return new HqmError('HQM_ERR_BODY_TOO_LARGE', `${what}: the broker refused the record as too large (${type})`, { cause: error });
  }
  if (!error.name.startsWith('KafkaJS')) return error;
  return unavailable(`${what}: Kafka is unavailable (${firstLine(error.message)})`, error);
}

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** Awaits a driver call, translating its failure; fails with HQM_ERR_BACKEND_UNAVAILABLE after `timeoutMs`. */
export async function guarded<T>(what: string, operation: Promise<T>, timeoutMs?: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    if (timeoutMs === undefined) return await operation;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`${what}: Kafka did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    // The operation may still settle later; its rejection must not go unhandled.
    operation.catch(() => undefined);
    return await Promise.race([operation, timeout]);
  } catch (error) {
    throw translateKafkaError(error, what);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

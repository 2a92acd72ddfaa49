/**
 * rabbitmq-client failures in the terms of the error catalogue: anything that means "the broker
 * cannot answer right now" (no connection, a channel that closed, a refused publish, a timed-out
 * channel acquisition) becomes HQM_ERR_BACKEND_UNAVAILABLE, a 503 with Retry-After at the API and
 * a back-off in the worker.
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

export function translateRabbitError(error: unknown, what: string): Error {
  if (isHqmError(error)) return error;
  const detail = error instanceof Error ? firstLine(error.message) : String(error);
  return unavailable(`${what}: RabbitMQ is unavailable (${detail})`, error);
}

/** Awaits a driver call, translating its failure. */
export async function guarded<T>(what: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw translateRabbitError(error, what);
  }
}

/** The AMQP reply code name rabbitmq-client puts in `code` (PRECONDITION_FAILED, NOT_FOUND, …), if any. */
export function replyCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Pub/Sub (gRPC) failures in the terms of the error catalogue. Anything that means "the server
 * cannot answer right now" becomes HQM_ERR_BACKEND_UNAVAILABLE (a 503 with Retry-After at the
 * API, a back-off in the worker); refused credentials and permissions too, since an operator
 * fixes them without a restart of OpenHQM (a role granted later takes effect on the next call).
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

/** gRPC status codes the adapter tells apart. */
export const GRPC = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, CANCELLED: 1 } as const;

export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

export function translatePubSubError(error: unknown, what: string): Error {
  if (isHqmError(error)) return error;
  const detail = error instanceof Error ? firstLine(error.message) : String(error);
  return unavailable(`${what}: Pub/Sub is unavailable (${detail})`, error);
}

/** Awaits a driver call, translating its failure. */
export async function guarded<T>(what: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw translatePubSubError(error, what);
  }
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

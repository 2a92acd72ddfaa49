/** undici failures in the terms of the error catalogue. */
import { HqmError, isHqmError } from '../../../core/errors.js';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function translateUndiciError(error: unknown, url: string, timeoutMs: number): HqmError {
  if (isHqmError(error)) return error;
  const code = codeOf(error);
  const target = safeOrigin(url);
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN') {
    const message = error instanceof Error ? error.message : String(error);
    return new HqmError('HQM_ERR_UPSTREAM_REQUEST_INVALID', `the request cannot be sent to ${target}: ${message}`, { cause: error, details: { code } });
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) return timeout(target, timeoutMs, error);
  if ((error as { name?: string } | null)?.name === 'TimeoutError') return timeout(target, timeoutMs, error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new HqmError('HQM_ERR_UPSTREAM_UNREACHABLE', `cannot reach ${target}: ${code}`, { cause: error, details: { code } });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Anything else (a malformed answer, a protocol error) is worth another try too.
  return new HqmError('HQM_ERR_UPSTREAM_UNREACHABLE', `call to ${target} failed: ${message}`, { cause: error, details: { code } });
}

export function timeout(target: string, timeoutMs: number, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_UPSTREAM_TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, { cause });
}

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || TIMEOUT_CODES.has(code))) return code;
    current = (current as { cause?: unknown }).cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Scheme, host and port only: URLs may carry credentials or tokens in their query. */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the upstream';
  }
}

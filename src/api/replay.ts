/**
 * Sends a finished request's upstream answer as the HTTP response: its status, its headers
 * (minus hop-by-hop ones) and its body — byte for byte when the raw body was kept (captured
 * requests), else rebuilt from the stored result. A request that ended without an upstream
 * answer is told as a gateway error (502, 504) or, for a non-proxy result, as JSON.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { connectionTokens, HOP_BY_HOP, rawBytes } from '../core/http.js';
import type { RequestRecord } from '../core/request/record.js';
import { errorCodeOf } from './present.js';

export function sendUpstreamAnswer(reply: FastifyReply, record: RequestRecord): FastifyReply {
  const outcome = record.outcome;
  reply.header('x-correlation-id', record.id);
  if (outcome === null || outcome.statusCode === null) {
    if (record.status === 'COMPLETED') return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(outcome?.result ?? null));
    const code = errorCodeOf(record) ?? 'HQM_ERR_INVALID_TRANSITION';
    return reply.code(gatewayStatus(code)).send({ detail: outcome?.error ?? record.status.toLowerCase(), code, correlation_id: record.id, status: record.status });
  }
  const headers = outcome.headers ?? {};
  const dropped = connectionTokens(headers);
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    reply.header(name, name === 'set-cookie' ? value.split('\n') : value);
  }
  const body = outcome.body !== null && outcome.body !== undefined ? rawBytes(outcome.body) : rebuild(outcome.result, headers);
  // A status outside what HTTP allows (a broken upstream) cannot be relayed: say so as a gateway.
  const status = outcome.statusCode >= 100 && outcome.statusCode <= 599 ? outcome.statusCode : 502;
  // Sent as nothing rather than an empty Buffer, which Fastify would label application/octet-stream.
  return body.length === 0 ? reply.code(status).send() : reply.code(status).send(body);
}

/**
 * The catalogue's status for `code`, except that a server-side failure reads as a bad gateway:
 * never a 500, and never a 503 that would invite a retry of a request that has ended.
 */
function gatewayStatus(code: ErrorCode): number {
  const status: number = ERROR_CATALOGUE[code].httpStatus;
  return status >= 500 && status !== 504 ? 502 : status;
}

/** The body of an answer stored as a result only (requests submitted through the API). */
function rebuild(result: unknown, headers: Readonly<Record<string, string>>): Buffer {
  if (isStoredText(result)) return Buffer.from(result.response, result.encoding === 'base64' ? 'base64' : 'utf8');
  if (result === null && !(headers['content-type'] ?? '').includes('json')) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(result));
}

function isStoredText(value: unknown): value is { response: string; content_type: string; encoding?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { response?: unknown }).response === 'string' && typeof (value as { content_type?: unknown }).content_type === 'string';
}

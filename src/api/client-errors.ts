/**
 * Errors Fastify raises before a route runs — a URL that does not decode, and HTTP framing
 * Node's parser refuses (a bad Content-Length, a bad chunk, oversized headers) — answered
 * with the same `{detail, code}` body as every other error instead of Fastify's own shape.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, HqmError, type ErrorCode } from '../core/errors.js';
import { sendError } from './error-handler.js';

/** Fastify's `frameworkErrors`: a URL that is not valid percent-encoding (FST_ERR_BAD_URL), and the like. */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped =
    error.code === 'FST_ERR_BAD_URL'
      ? new HqmError('HQM_ERR_BAD_REQUEST', `the URL is not valid: ${error.message}`, { cause: error })
      : error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? new HqmError('HQM_ERR_BAD_REQUEST', error.message, { cause: error })
        : new HqmError('HQM_ERR_INTERNAL', error.message, { cause: error });
  void sendError(reply, mapped);
}

/** Fastify's `clientErrorHandler`: the request could not be parsed, so there is no reply object, only the socket. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection, or one already gone: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = describe(error.code);
  const status = ERROR_CATALOGUE[code].httpStatus;
  const body = JSON.stringify({ detail, code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function describe(nodeCode: string | undefined): [ErrorCode, string] {
  switch (nodeCode) {
    case 'HPE_HEADER_OVERFLOW':
      return ['HQM_ERR_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ['HQM_ERR_REQUEST_TIMEOUT', 'the request was not received in full in time'];
    default:
      return ['HQM_ERR_BAD_REQUEST', `the HTTP request is malformed (${nodeCode ?? 'unreadable'}): check Content-Length, Transfer-Encoding and the request line`];
  }
}

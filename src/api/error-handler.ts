/**
 * Every error the API answers with, in one place. Bodies keep the original's `{detail}` and
 * add a stable `code`; validation errors list every field at fault in FastAPI's shape
 * (`detail: [{loc, msg, type}]`) plus a one-line `message`. A client mistake is always a 4xx;
 * only a fault of ours is a 500, and then the log has the details.
 *
 * @module
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HqmError, isHqmError, ValidationError, type ErrorCode, type FieldIssue } from '../core/errors.js';
import { challenge } from './auth.js';
import { schemaIssues } from './schema-issues.js';

const RETRY_AFTER_SECONDS = 2;

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HqmError, request, reply) => {
    const mapped = toHqmError(error);
    if (mapped.code === 'HQM_ERR_OVERLOADED') {
      // Shedding is the system working as configured; one line per refused submit would flood the log.
      request.log.debug({ code: mapped.code }, mapped.message);
    } else if (mapped.httpStatus >= 500 && mapped.code !== 'HQM_ERR_BACKEND_UNAVAILABLE' && mapped.code !== 'HQM_ERR_SHUTTING_DOWN' && mapped.code !== 'HQM_ERR_AUTH_UNAVAILABLE') {
      request.log.error({ err: error }, 'unhandled error');
    } else if (mapped.httpStatus >= 500) {
      request.log.warn({ err: error }, mapped.message);
    }
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, routeNotFound(request)));
}

export function routeNotFound(request: FastifyRequest): HqmError {
  return new HqmError('HQM_ERR_ROUTE_NOT_FOUND', `no endpoint at ${request.method} ${request.url.split('?')[0] ?? ''}`);
}

/** Sends `error` as its status and body; `extra` adds fields a route documents for that answer (a batch's `running`). */
export function sendError(reply: FastifyReply, error: HqmError, extra: Readonly<Record<string, unknown>> = {}): FastifyReply {
  if (error.httpStatus === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  challenge(reply, error);
  if (error instanceof ValidationError) {
    return reply.code(422).send({ detail: error.issues.map(toFastApiDetail), code: error.code, message: error.message });
  }
  const detail = error.httpStatus >= 500 && error.code === 'HQM_ERR_INTERNAL' ? 'Internal Server Error' : error.message;
  return reply.code(error.httpStatus).send({ detail, code: error.code, ...extra });
}

function toFastApiDetail(issue: FieldIssue): { loc: string[]; msg: string; type: string } {
  return { loc: issue.path.split('.').filter((p) => p !== ''), msg: issue.message, type: 'value_error' };
}

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'HQM_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'HQM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'HQM_ERR_MALFORMED_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'HQM_ERR_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_TYPE: 'HQM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'HQM_ERR_UNSUPPORTED_MEDIA_TYPE',
};

function toHqmError(error: FastifyError | HqmError): HqmError {
  if (isHqmError(error)) return error;
  const issues = schemaIssues(error);
  if (issues !== undefined) return new ValidationError(issues);
  const code = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (code !== undefined) return new HqmError(code, friendlyMessage(code, error), { cause: error });
  const status = error.statusCode ?? 500;
  // A client error Fastify raised that has no code of ours: still a 4xx, never a 500.
  if (status >= 400 && status < 500) return new HqmError('HQM_ERR_BAD_REQUEST', error.message, { cause: error });
  return new HqmError('HQM_ERR_INTERNAL', error.message, { cause: error });
}

function friendlyMessage(code: ErrorCode, error: FastifyError): string {
  switch (code) {
    case 'HQM_ERR_BODY_TOO_LARGE':
      return 'the body is larger than the limit (api.max_body_bytes)';
    case 'HQM_ERR_UNSUPPORTED_MEDIA_TYPE':
      return 'send the body as JSON with Content-Type: application/json';
    default:
      return error.message;
  }
}

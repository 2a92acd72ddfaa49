/**
 * The JSON body parser: strict UTF-8, no prototype-poisoning keys, bounded nesting, finite
 * numbers and no lone surrogates — so anything that reaches a route handler can be stored and
 * echoed back exactly. Bad bytes or syntax are 400; well-formed JSON outside the limits is 422.
 * Every check after JSON.parse is one walk over the parsed value (core/json-limits.ts), which
 * also refuses the prototype keys secure-json-parse would (D192).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { HqmError, ValidationError } from '../core/errors.js';
import { findJsonProblem } from '../core/json-limits.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function registerJsonParser(app: FastifyInstance, options: { maxDepth: number }): void {
  // JSON only: a text/plain body is 415, not a string that then fails validation.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  // Fastify tests a RegExp against the whole header, parameters included: allow them
  // (`application/json; charset=utf-8` is what most clients send).
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json\s*(;.*)?$/i, { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const encoding = request.headers['content-encoding']?.trim().toLowerCase();
      if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
        throw new HqmError('HQM_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not accepted; send the JSON body uncompressed`);
      }
      done(null, parseJsonBody(body as Buffer, options.maxDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** `maxDepth` bounds the payload; the request object around it is allowed one level more. */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HqmError('HQM_ERR_MALFORMED_BODY', 'the body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Only now: an empty body is the rare case, and trimming every body would copy it.
    if (text.trim() === '') throw new HqmError('HQM_ERR_MALFORMED_BODY', 'the body is empty; send a JSON object');
    throw new HqmError('HQM_ERR_MALFORMED_BODY', `the body is not valid JSON: ${(error as Error).message}`);
  }
  const problem = findJsonProblem(value, maxDepth + 1, { forbidPrototypeKeys: true });
  if (problem === undefined) return value;
  // Told in the payload's terms: the limit counts the payload's levels, not the wrapper's.
  const message = problem.kind === 'depth' ? `nesting is deeper than ${maxDepth} levels (api.max_json_depth)` : problem.message;
  throw new ValidationError([{ path: problem.path === '' ? 'body' : `body.${problem.path}`, message }]);
}

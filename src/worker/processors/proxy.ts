/**
 * The proxy processor: forwards each request to its upstream (HTTP → Queue → HTTP) and
 * stores the upstream's answer as the result. The forwarding rules live in proxy/.
 *
 * @module
 */
import type { Forwarder } from '../../proxy/forwarder.js';
import { ProcessorResponse, type Processor } from '../processor.js';

export function proxyProcessor(forwarder: Forwarder): Processor {
  return async (request, ctx) => {
    const answer = await forwarder.forward(request, { attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, signal: ctx.signal, traceparent: ctx.traceparent });
    return new ProcessorResponse(answer.result, answer.statusCode, answer.headers, answer.body);
  };
}

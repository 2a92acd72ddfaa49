/**
 * The worker's follow-up submitter (metadata.then) built from the API's own parts: the same
 * checks as a client's submit (validateSubmit) and the same submit path (accept). Load shedding
 * does not apply: a follow-up continues work that was accepted already, and refusing it would
 * lose it.
 *
 * @module
 */
import { accept } from '../api/accept.js';
import type { ApiOptions } from '../api/context.js';
import { DepthGates } from '../api/load-shedding.js';
import { submitIssues } from '../api/validate.js';
import type { HqmEvents } from '../core/events.js';
import type { FusedBackend } from '../ports/fused.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Tracing } from '../ports/tracing.js';
import type { FollowUps } from '../worker/chain.js';

export function followUpSubmitter(deps: { queue: QueueBackend; store: ResultStore; fused?: FusedBackend | undefined; events: HqmEvents; tracing?: Tracing | undefined }, options: ApiOptions): FollowUps {
  const queues = new Set(options.queues.keys());
  // max 0: never refuses.
  const ctx = { ...deps, options, depthGate: new DepthGates(deps.queue, 0) };
  return {
    check: (body) => submitIssues(body, queues, options.endpoints),
    submit: async (followUp) => {
      const { id, body, tenant, traceparent, forwarding } = followUp;
      await accept(ctx, { id, payload: body.payload, headers: body.headers, metadata: body.metadata, request: null, traceparent, forwarding, tenant });
    },
  };
}

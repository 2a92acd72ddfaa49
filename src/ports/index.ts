/**
 * `openhqm/ports`: the public extension surface for a custom backend (D134). The port types a
 * queue backend or result store implements, the domain types they carry, and the typed errors
 * they throw; `isHqmError` recognises errors by brand, so an adapter bundling its own copy of
 * this module is understood by the gateway. Test it with `openhqm/conformance`.
 *
 * @module
 */
export type * from './adapter.js';
export type * from './health.js';
export type * from './logger.js';
export type * from './queue-backend.js';
export type * from './result-store.js';
export type * from './analytics-store.js';
export type * from './fused.js';
export type { NewRequest, Outcome, RequestEvent, RequestRecord, TrailNote } from '../core/request/record.js';
export type { Status } from '../core/request/lifecycle.js';
export { ERROR_CATALOGUE, HqmError, isHqmError, type ErrorCode } from '../core/errors.js';
export { chainedDelay, queueCapabilityIssues } from './queue-capabilities.js';
export { planClaim } from '../core/request/claim.js';
export { planTransition, compileTransition, applyWrites, guardAllows, initialRecord } from '../core/request/transition.js';

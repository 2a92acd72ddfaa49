/**
 * `@openhqm/client`: a dependency-free TypeScript client for OpenHQM — submit, read, wait for
 * and cancel requests, follow them live, and verify their signed webhooks.
 *
 * @module
 */
export { OpenHqmClient, type BatchSubmitted, type CallOptions, type ClientOptions, type ResultOptions, type Submitted, type SubmitOptions, type WaitOptions } from './client.js';
export { OpenHqmError, type ClientErrorCode } from './errors.js';
export type { Credential, FetchLike, Secret } from './http.js';
export type { StreamOptions } from './stream.js';
export { SseParser, type SseEvent } from './sse.js';
export * from './types.js';
export { verifyWebhook, WebhookVerificationError, type VerifyOptions, type WebhookEvent, type WebhookFailure, type WebhookHeaders, type WebhookSecret } from './webhook.js';

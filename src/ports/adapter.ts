/**
 * How the composition root creates adapters: each adapter module exports a factory that
 * validates its own options (the adapter-specific part of the configuration) before it
 * connects to anything.
 *
 * @module
 */
import type { Logger } from './logger.js';
import type { QueueBackend } from './queue-backend.js';
import type { ResultStore } from './result-store.js';

export interface AdapterContext {
  readonly logger: Logger;
}

export interface AdapterFactory<T> {
  readonly type: string;
  /** Validates `options` (throws HqmError HQM_ERR_CONFIG naming each bad key), connects, returns the adapter. */
  create(options: Readonly<Record<string, unknown>>, context: AdapterContext): Promise<T>;
}

export type QueueBackendFactory = AdapterFactory<QueueBackend>;
export type ResultStoreFactory = AdapterFactory<ResultStore>;

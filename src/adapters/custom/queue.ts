/**
 * `queue.type: custom`: the queue backend of the user's module (D280). It is given the queue
 * section's keys with `queue.custom_config` over them, and must have every QueueBackend method
 * and capability; its capabilities are checked at start-up like any backend's.
 *
 * @module
 */
import type { QueueBackendFactory } from '../../ports/adapter.js';
import { QUEUE_BACKEND_METHODS, QUEUE_CAPABILITY_KEYS, type QueueBackend } from '../../ports/queue-backend.js';
import { createChecked, readSpec } from './load.js';

export const factory: QueueBackendFactory = {
  type: 'custom',
  async create(options, context) {
    const { spec, rest } = readSpec(options);
    return createChecked<QueueBackend>('queue', spec, rest, context, { methods: QUEUE_BACKEND_METHODS, capabilities: QUEUE_CAPABILITY_KEYS });
  },
};

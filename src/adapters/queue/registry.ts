/**
 * Every queue backend by its `queue.type` name. Each entry imports its adapter lazily, so a
 * deployment only loads the driver it uses. Only the composition root (src/app) reads this.
 *
 * @module
 */
import type { QueueBackendFactory } from '../../ports/adapter.js';

type Loader = () => Promise<{ factory: QueueBackendFactory }>;

export const queueBackends: Readonly<Record<string, Loader>> = {
  sqlite: () => import('./sqlite/index.js'),
  memory: () => import('./memory/index.js'),
  redis: () => import('./redis/index.js'),
  postgres: () => import('./postgres/index.js'),
  nats: () => import('./nats/index.js'),
  kafka: () => import('./kafka/index.js'),
  azure_eventhubs: () => import('./kafka/event-hubs.js'),
  rabbitmq: () => import('./rabbitmq/index.js'),
  sqs: () => import('./sqs/index.js'),
  mqtt: () => import('./mqtt/index.js'),
  custom: () => import('../custom/queue.js'),
  gcp_pubsub: () => import('./gcp_pubsub/index.js'),
};

import { factory as queueFactory } from '../../src/adapters/queue/memory/index.js';
import { factory as storeFactory, type MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { describeAnalyticsStore, describeQueueBackend, describeResultStore } from '../../src/conformance/index.js';

const context = { logger: silentLogger };
const memory = (store: ResultStore): MemoryResultStore => store as MemoryResultStore;

describeQueueBackend('memory', async () => ({ open: (options) => queueFactory.create({ ...options }, context) }));
describeAnalyticsStore('memory', async () => ({ open: () => storeFactory.create({}, context) }));
describeResultStore('memory', async () => ({
  open: () => storeFactory.create({}, context),
  expire: async (store) => void (await memory(store).sweep()),
  stored: async (store, ids) => ids.filter((id) => memory(store).holds(id)).length,
}));

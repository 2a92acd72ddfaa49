import { factory as queueFactory } from '../../src/adapters/queue/memory/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/memory/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { describeResultStore } from '../conformance/result-store.js';

const context = { logger: silentLogger };

describeQueueBackend('memory', async () => ({ open: () => queueFactory.create({}, context) }));
describeResultStore('memory', async () => ({ open: () => storeFactory.create({}, context) }));

import { join } from 'node:path';
import { factory as queueFactory } from '../../src/adapters/queue/sqlite/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/sqlite/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { describeResultStore } from '../conformance/result-store.js';
import { tempDir } from '../helpers/temp.js';

const context = { logger: silentLogger };
const dir = tempDir();

describeQueueBackend('sqlite', async () => {
  const path = join(dir, 'queue.db');
  return { open: () => queueFactory.create({ path }, context) };
});

describeResultStore('sqlite', async () => {
  const path = join(dir, 'store.db');
  return { open: () => storeFactory.create({ path }, context) };
});

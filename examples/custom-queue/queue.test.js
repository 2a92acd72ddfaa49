// The conformance suite every built-in backend passes, run against this one.
import { describeQueueBackend } from 'openhqm/conformance';
import backend from './queue.js';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describeQueueBackend('example-memory', async () => ({
  open: (options) => backend.create({ ...options }, { logger: silent }),
}));

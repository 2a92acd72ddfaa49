/**
 * `openhqm/conformance` as the author of a custom backend uses it: the suite imported by the
 * package's name (resolved through package.json `exports` to the built dist, with the test's own
 * vitest as its peer), run against a backend the author opens. The backend here is the memory
 * adapter imported from source, so it throws a second copy of HqmError, as an adapter bundling
 * its own `openhqm/ports` would, and the suite from dist must still recognise it (D134).
 * Needs `npm run build` first, as the e2e tests do.
 */
import { describeQueueBackend } from 'openhqm/conformance';
import { factory } from '../../src/adapters/queue/memory/index.js';
import { silentLogger } from '../../src/ports/logger.js';

describeQueueBackend('memory, through openhqm/conformance', async () => ({
  open: (options) => factory.create({ ...options }, { logger: silentLogger }),
}));

/**
 * `openhqm/conformance`: the suites every built-in backend passes, for testing a backend of your
 * own (docs/adapters.md "Testing a custom backend"). Each `describe…` call registers a vitest
 * suite, so call them at the top level of a test file; vitest is an optional peer dependency,
 * needed only by whoever imports this module. The gateway itself never loads it (a lint rule).
 */
export { describeQueueBackend, type QueueHarness } from './queue-backend.js';
export { describeResultStore } from './result-store.js';
export { describeAnalyticsStore } from './analytics-store.js';
export { describeFusedBackend, fusedQueueView, fusedStoreView, type FusedHarness, type FusedPair } from './fused.js';
export { newRequest, outcome, type StoreHarness } from './fixtures.js';

/**
 * The OpenAPI document a default deployment serves, built from the app itself (`buildApi` on
 * the in-memory backends with the options `openhqm start` derives from the default
 * configuration), so the client's copy is generated, never written by hand.
 *
 *     npm run client:openapi      rewrites packages/client/openapi.json
 *
 * The client's drift test (packages/client/test/contract.test.ts) fails when the copy is stale
 * or when a path or schema the client relies on changed.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemoryQueue } from '../../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../../src/adapters/result-store/memory/index.js';
import { buildApi } from '../../../src/api/build-api.js';
import { apiOptions } from '../../../src/app/options.js';
import { configSchema } from '../../../src/config/schema.js';
import { HqmEvents } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ports/logger.js';

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));

/** The document, as `GET /openapi.json` of a default deployment answers it. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const queue = new MemoryQueue(silentLogger);
  const store = new MemoryResultStore();
  const options = apiOptions(configSchema.parse({ queue: { type: 'memory' }, cache: { type: 'memory' } }), {});
  const app = await buildApi({ queue, store, events: new HqmEvents(), options });
  try {
    await app.ready();
    // A plain JSON copy: what a client downloads, without Fastify's object identities.
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
    await queue.close();
    await store.close();
  }
}

/** The file's text: stable key order as generated, two-space indent, a final newline. */
export function render(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_FILE, render(await openApiDocument()));
  console.log(`wrote ${OPENAPI_FILE}`);
}

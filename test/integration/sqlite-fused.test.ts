/**
 * The fused SQLite pair (queue and store on one file, D182): its own conformance cases, and the
 * queue and store suites run again through the fused operations (src/conformance/fused.ts).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { fusedPair } from '../../src/adapters/fused/registry.js';
import { factory as queueFactory } from '../../src/adapters/queue/sqlite/index.js';
import { factory as storeFactory, type SqliteResultStore } from '../../src/adapters/result-store/sqlite/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { describeFusedBackend, describeQueueBackend, describeResultStore, fusedQueueView, fusedStoreView, type FusedPair } from '../../src/conformance/index.js';
import { tempDir } from '../helpers/temp.js';

const context = { logger: silentLogger };
const dir = tempDir();

async function openPair(path: string, options: Readonly<Record<string, unknown>> = {}): Promise<FusedPair> {
  const queue = await queueFactory.create({ path, ...options }, context);
  const store = await storeFactory.create({ path, sweep_interval_ms: 3_600_000 }, context);
  const fused = await fusedPair(queue, store);
  if (fused === undefined) throw new Error('a SQLite queue and store on one file did not fuse');
  return { queue, store, fused, close: async () => void (await Promise.all([queue.close(), store.close()])) };
}

describeFusedBackend('sqlite', async () => {
  const path = join(dir, 'fused.db');
  return { open: (options) => openPair(path, options), crash: (pair) => pair.close() };
});

describeQueueBackend('sqlite, fused', async () => {
  const path = join(dir, 'fused-queue.db');
  return { open: async (options) => fusedQueueView(await openPair(path, options)), crash: (backend) => backend.close() };
});

/** The store under each view, for the harness's expiry and storage probes. */
const stores = new WeakMap<ResultStore, ResultStore>();

describeResultStore('sqlite, fused', async () => {
  const path = join(dir, 'fused-store.db');
  return {
    open: async () => {
      const pair = await openPair(path);
      const view = await fusedStoreView(pair);
      stores.set(view, pair.store);
      return view;
    },
    expire: async (view) => void (await (stores.get(view) as SqliteResultStore).sweep()),
    stored: async (_view, ids) => countRows(path, ids),
  };
});

it('does not fuse a queue and a store on different files', async () => {
  const queue = await queueFactory.create({ path: join(dir, 'a.db') }, context);
  const store = await storeFactory.create({ path: join(dir, 'b.db') }, context);
  try {
    expect(await fusedPair(queue, store)).toBeUndefined();
  } finally {
    await Promise.all([queue.close(), store.close()]);
  }
});

/** How many of `ids` have a record or an event row left, read on a connection of its own. */
function countRows(path: string, ids: readonly string[]): number {
  const db = new Database(path, { readonly: true });
  try {
    const sql = `SELECT COUNT(*) FROM json_each(?) AS i
                 WHERE EXISTS (SELECT 1 FROM hqm_requests WHERE id = i.value)
                    OR EXISTS (SELECT 1 FROM hqm_request_events WHERE request_id = i.value)`;
    return db.prepare(sql).pluck().get(JSON.stringify(ids)) as number;
  } finally {
    db.close();
  }
}

/**
 * Which queue and store pairs fuse (ports/fused.ts, D181): one entry per technology whose queue
 * and store can share a server, each imported lazily like the adapters themselves. The entry
 * decides from the two instances whether they really do — the same SQLite connection (one
 * file), the same Redis connection (not a cluster), the same PostgreSQL URL and schema — and
 * answers undefined otherwise, as for any pair of different types (a Redis queue with a
 * PostgreSQL store, say), which then keeps the two-port path. Only the composition root (src/app)
 * reads this.
 *
 * @module
 */
import type { FusedBackend } from '../../ports/fused.js';
import type { QueueBackend } from '../../ports/queue-backend.js';
import type { ResultStore } from '../../ports/result-store.js';

type Fuser = (queue: QueueBackend, store: ResultStore) => FusedBackend | undefined;
type Loader = () => Promise<{ fuse: Fuser }>;

/** By the type both adapters share. */
const pairs: Readonly<Record<string, Loader>> = {
  sqlite: () => import('../shared/sqlite/fused.js'),
  postgres: () => import('../shared/postgres/fused.js'),
  redis: () => import('../shared/redis/fused.js'),
};

/** The fused operations of `queue` and `store`, or undefined when they do not share one server. */
export async function fusedPair(queue: QueueBackend, store: ResultStore): Promise<FusedBackend | undefined> {
  if (queue.type !== store.type || !Object.hasOwn(pairs, queue.type)) return undefined;
  const { fuse } = await (pairs[queue.type] as Loader)();
  return fuse(queue, store);
}

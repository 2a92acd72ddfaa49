/** The readiness probe both SQLite adapters share: the file itself, then their own tables. */
import type { HealthReport } from '../../../ports/health.js';
import type { SqliteHandle } from './database.js';

/** `touch` reads the adapter's tables (see each adapter's `probe` statement). */
export function probeSqlite(handle: SqliteHandle, touch: () => unknown): HealthReport {
  const fault = handle.inspect();
  if (fault !== undefined) return { ok: false, detail: fault };
  try {
    handle.read(touch);
  } catch (error) {
    return { ok: false, detail: handle.inspect() ?? (error as Error).message };
  }
  return { ok: true };
}

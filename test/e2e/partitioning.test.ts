/**
 * Partitioning end to end on SQLite: requests with the same key are processed one at a time,
 * in submission order, across two worker processes — and when one is killed mid-stream its
 * keys pass to the other after the visibility timeout (test/helpers/partitioning.ts).
 */
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { runPartitionScenario } from '../helpers/partitioning.js';
import { tempDir } from '../helpers/temp.js';

describe('partitioning across worker processes', () => {
  const dir = tempDir();

  it('keeps each key in order, one at a time, through a SIGKILL of a worker', async () => {
    await runPartitionScenario({ OPENHQM_SQLITE__PATH: join(dir, 'partitions.db') });
  }, 120_000);
});

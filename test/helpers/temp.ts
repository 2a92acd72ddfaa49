import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A temporary directory removed after the file's tests (kept when KEEP_TEST_FILES is set). */
export function tempDir(prefix = 'openhqm-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => {
    if (process.env.KEEP_TEST_FILES === undefined) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

import type { FusedBackend } from '../../../ports/fused.js';

export function fuse(_queue: unknown, _store: unknown): FusedBackend | undefined {
  return undefined;
}

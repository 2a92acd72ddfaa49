/** Loads a user processor module (`worker.processor_module`). */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HqmError } from '../../core/errors.js';
import type { Processor } from '../processor.js';

/** The module's default export, or its export named `process`, must be a function. */
export async function loadProcessorModule(path: string, cwd = process.cwd()): Promise<Processor> {
  const url = pathToFileURL(resolve(cwd, path)).href;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw new HqmError('HQM_ERR_PROCESSOR_LOAD', `cannot load worker.processor_module ${path}: ${(cause as Error).message}`, { cause });
  }
  const candidate = typeof loaded.default === 'function' ? loaded.default : loaded.process;
  if (typeof candidate !== 'function') {
    throw new HqmError('HQM_ERR_PROCESSOR_LOAD', `worker.processor_module ${path} exports no function (expected a default export or one named "process")`);
  }
  return candidate as Processor;
}

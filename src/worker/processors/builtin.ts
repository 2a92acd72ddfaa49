/**
 * The built-in operations of the original project, selected by `payload.operation` with the
 * input in `payload.data`, answering `{output, processed_at}`:
 *
 * - `echo` returns `data` unchanged; `uppercase` and `reverse` work on its text (a string as
 *   is, anything else as its JSON text); reverse works on code points, so emoji survive;
 * - `error` fails with "Test error" (permanently, as the original; `retryable: true` in the
 *   payload makes it a retryable failure instead, to watch retries and dead-lettering);
 * - `sleep` waits `seconds` (default 1), honouring the deadline and shutdown; more than
 *   `worker.builtin_sleep_max_seconds` (default 60) fails at once with HQM_ERR_VALIDATION;
 * - anything else answers "Unknown operation: <name>", as the original does.
 *
 * @module
 */
import { isoTime } from '../../core/iso-time.js';
import { setTimeout } from 'node:timers/promises';
import { builtinSleepIssue, DEFAULT_SLEEP_MAX_SECONDS, sleepSeconds } from '../../core/builtin-sleep.js';
import { ValidationError } from '../../core/errors.js';
import type { Processor, ProcessorContext, ProcessorRequest } from '../processor.js';
import { PermanentError } from '../processor.js';

export interface BuiltinOptions {
  /** worker.builtin_sleep_max_seconds */
  readonly sleepMaxSeconds: number;
}

/** The built-in operations with the configured limits. */
export function builtinOperations(options: BuiltinOptions): Processor {
  return (request, ctx) => runBuiltin(request, ctx, options);
}

/** The built-ins with the default limits. */
export const builtinProcessor: Processor = builtinOperations({ sleepMaxSeconds: DEFAULT_SLEEP_MAX_SECONDS });

async function runBuiltin(request: ProcessorRequest, ctx: ProcessorContext, options: BuiltinOptions): Promise<unknown> {
  const operation = request.payload.operation ?? 'unknown';
  const data = request.payload.data ?? '';
  let output: unknown;
  switch (operation) {
    case 'echo':
      output = data;
      break;
    case 'uppercase':
      output = asText(data).toUpperCase();
      break;
    case 'reverse':
      output = Array.from(asText(data)).reverse().join('');
      break;
    case 'error':
      if (request.payload.retryable === true) throw Object.assign(new Error('Test error'), { retryable: true });
      throw new PermanentError('Test error');
    case 'sleep': {
      const issue = builtinSleepIssue(request.payload, options.sleepMaxSeconds);
      if (issue !== undefined) throw new ValidationError([issue]);
      const s = sleepSeconds(request.payload.seconds);
      output = await setTimeout(s * 1000, `slept ${s}s`, { signal: ctx.signal });
      break;
    }
    default:
      output = `Unknown operation: ${asText(operation)}`;
  }
  return { output, processed_at: isoTime(Date.now()) };
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}

/**
 * Tracing in a running process: started when the OTEL_* variables turn it on (config/tracing.ts),
 * with the SDK imported only then — a process that does not trace never loads it (D204).
 *
 * @module
 */
import { shownEndpoint, type TracingSettings } from '../config/tracing.js';
import type { HqmEvents } from '../core/events.js';
import type { Logger } from '../ports/logger.js';
import type { Tracing } from '../ports/tracing.js';
import { VERSION } from './version.js';

export interface AppTracing {
  readonly tracing: Tracing;
  /** Exports what is buffered; the last shutdown step. */
  shutdown(): Promise<void>;
}

/** Undefined when tracing is off. */
export async function startTracingFor(settings: TracingSettings | undefined, deps: { events: HqmEvents; logger: Logger; instanceId: string }): Promise<AppTracing | undefined> {
  if (settings === undefined || !settings.enabled) return undefined;
  const { startTracing } = await import('../observability/tracing.js');
  const logger = deps.logger.child({ component: 'tracing' });
  const otel = await startTracing({ ...settings, serviceVersion: VERSION, instanceId: deps.instanceId, logger });
  otel.observe(deps.events);
  const { name, ratio } = settings.sampler;
  logger.info({ endpoint: shownEndpoint(settings.endpoint), protocol: settings.protocol, sampler: name.endsWith('traceidratio') ? `${name} ${ratio}` : name }, 'tracing on: spans are exported over OTLP/HTTP');
  return { tracing: otel, shutdown: () => otel.shutdown() };
}

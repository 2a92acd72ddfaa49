/** Nothing closes half-way: every resource is closed whatever the others do, and each failure is told. */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { startApp } from '../../src/app/compose.js';
import { closeInTurn } from '../../src/app/shutdown.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Logger } from '../../src/ports/logger.js';

interface Line {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

function recordingLogger(lines: Line[]): Logger & { fatal: Logger['error'] } {
  const at = (level: string) => (fields: object, message?: string) => void lines.push({ level, fields: fields as Record<string, unknown>, message });
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('closeInTurn', () => {
  it('runs every step after one that throws or rejects, logs each failure by name, and rejects with all of them', async () => {
    const lines: Line[] = [];
    const ran: string[] = [];
    const steps = [
      { name: 'first', run: () => void ran.push('first') },
      { name: 'close the store', run: async () => { ran.push('store'); throw new Error('store will not close'); } },
      { name: 'close the cache', run: () => { ran.push('cache'); throw new Error('cache threw'); } },
      { name: 'close the queue', run: async () => void ran.push('queue') },
    ];
    const outcome = await closeInTurn(steps, recordingLogger(lines)).then(() => undefined, (error: unknown) => error);
    expect(ran).toEqual(['first', 'store', 'cache', 'queue']);
    expect(outcome).toBeInstanceOf(AggregateError);
    expect((outcome as AggregateError).errors.map((e: Error) => e.message)).toEqual(['store will not close', 'cache threw']);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.fields.step)).toEqual(['close the store', 'close the cache']);
  });
});

describe('startApp stop()', () => {
  it('closes the queue even when the store’s close rejects, and reports the failure', async () => {
    const storeClose = vi.spyOn(MemoryResultStore.prototype, 'close').mockRejectedValue(new Error('store close failed'));
    const queueClose = vi.spyOn(MemoryQueue.prototype, 'close');
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const config = configSchema.parse({ queue: { type: 'memory' }, cache: { type: 'memory' }, server: { host: '127.0.0.1', port: 0 } });
    const app = await startApp(config, { api: true, worker: true }, createLogger({ level: 'info', format: 'json', destination }));
    const outcome = await app.stop().then(() => undefined, (error: unknown) => error);
    expect(storeClose).toHaveBeenCalledTimes(1);
    expect(queueClose).toHaveBeenCalledTimes(1);
    expect(outcome).toBeInstanceOf(AggregateError);
    expect(lines.some((l) => l.level === 'error' && l.step === 'close the result store')).toBe(true);
    expect(app.worker?.state).toBe('stopped');
    expect(app.api?.server.listening).toBe(false);
  });
});

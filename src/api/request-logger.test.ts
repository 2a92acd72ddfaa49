import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { lazyRequestLogger } from './request-logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; destination: Writable } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { destination, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('lazyRequestLogger', () => {
  it('makes the child on the first line that logs, with the request id bound', () => {
    const out = capture();
    const parent = createLogger({ level: 'info', format: 'json', destination: out.destination });
    let children = 0;
    const counting = Object.assign(Object.create(parent) as typeof parent, {
      child: (...args: Parameters<typeof parent.child>) => {
        children += 1;
        return parent.child(...args);
      },
    });
    const log = lazyRequestLogger(counting, { reqId: 'req-7' }, {});
    expect(log.level).toBe('info');
    log.debug('below the level');
    expect(children).toBe(0);
    log.warn({ code: 'X' }, 'first');
    log.error('second');
    expect(children).toBe(1);
    expect(out.lines().map((l) => [l.reqId, l.msg, l.level])).toEqual([
      ['req-7', 'first', 'warn'],
      ['req-7', 'second', 'error'],
    ]);
  });

  it('keeps the redaction of the process logger', () => {
    const out = capture();
    const parent = createLogger({ level: 'info', format: 'json', destination: out.destination });
    lazyRequestLogger(parent, { reqId: 'req-1' }, {}).info({ headers: { authorization: 'Bearer secret' } }, 'with a credential');
    expect(out.lines()[0]).toMatchObject({ reqId: 'req-1', headers: { authorization: '****' } });
  });

  it('is what a Fastify request logs with', async () => {
    const out = capture();
    const app = Fastify({ loggerInstance: createLogger({ level: 'info', format: 'json', destination: out.destination }), childLoggerFactory: lazyRequestLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/', async (request) => {
      request.log.info('handled');
      return { ok: true };
    });
    await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(out.lines().find((l) => l.msg === 'handled')).toMatchObject({ reqId: expect.any(String) });
  });
});

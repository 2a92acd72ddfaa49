import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { overridesFrom } from './options.js';

describe('overridesFrom', () => {
  it('nests --set keys and the named flags, the named flags last', () => {
    expect(overridesFrom({ set: ['Worker.Max_Retries=5', 'proxy.endpoints.a.url=http://x/?a=b'], port: '9000', queueType: 'redis' })).toEqual({
      overrides: { worker: { max_retries: '5' }, proxy: { endpoints: { a: { url: 'http://x/?a=b' } } }, server: { port: '9000' }, queue: { type: 'redis' } },
      issues: [],
    });
  });

  it('reports a malformed --set as an issue, so the other problems are still listed', () => {
    expect(overridesFrom({ set: ['badformat', '=x', 'a..b=1', 'worker.count=2'] })).toEqual({
      overrides: { worker: { count: '2' } },
      issues: [
        { path: '--set', message: 'expected section.key=value (such as worker.max_retries=5), got "badformat"' },
        { path: '--set', message: 'expected section.key=value (such as worker.max_retries=5), got "=x"' },
        { path: '--set', message: 'expected section.key=value (such as worker.max_retries=5), got "a..b=1"' },
      ],
    });
  });

  it('reports a flag that sets a key inside another flag’s value instead of failing on it', () => {
    expect(overridesFrom({ set: ['server.port=1', 'server.port.x=2'] }).issues).toEqual([
      { path: 'server.port', message: 'set by --set server.port, and --set server.port.x sets a key inside it; keep one' },
    ]);
    expect(overridesFrom({ set: ['server.port.x=2'], port: '1' }).issues).toEqual([
      { path: 'server.port', message: 'set by --port, and --set server.port.x sets a key inside it; keep one' },
    ]);
  });

  it('turns --processes into server.processes, checked by the schema like the environment', () => {
    expect(overridesFrom({ processes: 'auto', port: '8000' }).overrides).toEqual({ server: { port: '8000', processes: 'auto' } });
    expect(loadConfig({ env: {}, overrides: overridesFrom({ processes: '3' }).overrides }).config.server.processes).toBe(3);
    expect(() => loadConfig({ env: {}, overrides: overridesFrom({ processes: 'lots' }).overrides })).toThrow(/server\.processes: expected a whole number from 1 to 256, or "auto", got "lots"/);
  });

  it('lets the last of two flags for one key win, as usual on a command line', () => {
    expect(overridesFrom({ set: ['server.port=1'], port: '2' })).toEqual({ overrides: { server: { port: '2' } }, issues: [] });
  });
});

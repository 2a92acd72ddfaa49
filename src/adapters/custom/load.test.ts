import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { ANALYTICS_STORE_METHODS } from '../../ports/analytics-store.js';
import { silentLogger } from '../../ports/logger.js';
import { QUEUE_BACKEND_METHODS, QUEUE_CAPABILITY_KEYS, type QueueBackend } from '../../ports/queue-backend.js';
import { RESULT_STORE_CAPABILITY_KEYS, RESULT_STORE_METHODS, type ResultStore } from '../../ports/result-store.js';
import { factory as memoryQueue } from '../queue/memory/index.js';
import { factory as memoryStore } from '../result-store/memory/index.js';
import { factory as customQueue } from './queue.js';
import { factory as customStore } from './result-store.js';
import { loadCustomFactory } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'openhqm-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

// A queue made by delegating to the memory adapter, with the methods a test leaves out.
const MEMORY = pathToFileURL(join(import.meta.dirname, '../queue/memory/index.ts')).href;
const delegating = (without: string[]): string => `
import { factory as memory } from ${JSON.stringify(MEMORY)};
export const seen = [];
export let closed = 0;
export default {
  type: 'delegating',
  async create(options, context) {
    seen.push(options);
    const inner = await memory.create(options, context);
    const q = { type: 'delegating', capabilities: inner.capabilities };
    for (const m of ${JSON.stringify(QUEUE_BACKEND_METHODS.filter((m) => !without.includes(m)))}) q[m] = inner[m].bind(inner);
    q.close = () => { closed += 1; return inner.close(); };
    return q;
  },
};`;

const context = { logger: silentLogger };
const queueOptions = (spec: Record<string, unknown>) => ({ dead_letter_max: 5, visibility_timeout_seconds: 30, ...spec });

async function refusal(promise: Promise<unknown>): Promise<{ path: string; message: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  const [issue] = (error as ConfigError).issues;
  return issue as { path: string; message: string };
}

describe('a custom backend module', () => {
  it('is created from its default export, given the section\'s keys with custom_config over them and without the custom_* keys', async () => {
    const path = file('whole.mjs', delegating([]));
    const queue = await customQueue.create(queueOptions({ custom_module: path, custom_class: '', custom_config: { dead_letter_max: 7, region: 'x' } }), context);
    await queue.publish('q', { body: 'hi' });
    expect((await queue.stats('q')).depth).toBe(1);
    await queue.close();
    const { seen } = (await import(pathToFileURL(path).href)) as { seen: Array<Record<string, unknown>> };
    expect(seen[0]).toEqual({ dead_letter_max: 7, visibility_timeout_seconds: 30, region: 'x' });
  });

  it('names every member the created object lacks, and closes it before refusing', async () => {
    const path = file('partial.mjs', delegating(['stats', 'deploymentSecret']));
    const issue = await refusal(customQueue.create(queueOptions({ custom_module: path }), context));
    expect(issue.path).toBe('queue.custom_module');
    expect(issue.message).toMatch(/lacks stats\(\), deploymentSecret\(\) \(/);
    const { closed } = (await import(pathToFileURL(path).href)) as { closed: number };
    expect(closed).toBe(1);
  });

  it('names missing capability keys and a result store\'s analytics methods, and takes a whole store', async () => {
    const queuePath = file('caps.mjs', `import base from './partial.mjs';
export const factory = { type: 'caps', async create(o, c) { const q = await base.create(o, c); q.capabilities = { ...q.capabilities, lease: undefined }; q.stats = async () => ({}); q.deploymentSecret = async () => ''; return q; } };`);
    expect((await refusal(customQueue.create(queueOptions({ custom_module: queuePath }), context))).message).toMatch(/lacks capabilities\.lease \(/);
    const storePath = file('store.mjs', `import { factory as memory } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../result-store/memory/index.ts')).href)};
export const noRead = { type: 'x', async create(o, c) {
  const s = await memory.create(o, c);
  const store = { type: 'x', capabilities: s.capabilities, analytics: { add: s.analytics.add.bind(s.analytics), addMinutes: s.analytics.addMinutes.bind(s.analytics), minutes: s.analytics.minutes.bind(s.analytics) } };
  for (const m of ${JSON.stringify(RESULT_STORE_METHODS)}) store[m] = s[m].bind(s);
  return store;
} };`);
    const issue = await refusal(customStore.create({ ttl_seconds: 60, custom_module: storePath, custom_class: 'noRead' }, context));
    // The same store with its analytics whole is taken, and works.
    file('whole-store.mjs', `import { factory as memory } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../result-store/memory/index.ts')).href)};
export const Whole = { type: 'whole', async create(o, c) {
  const s = await memory.create(o, c);
  const store = { type: 'whole', capabilities: s.capabilities, analytics: s.analytics };
  for (const m of ${JSON.stringify(RESULT_STORE_METHODS)}) store[m] = s[m].bind(s);
  return store;
} };`);
    const store = await customStore.create({ ttl_seconds: 60, custom_module: join(dir, 'whole-store.mjs'), custom_class: 'Whole' }, context);
    expect(store.type).toBe('whole');
    expect(await store.get('nobody')).toBeUndefined();
    await store.close();
    expect(issue).toEqual({ path: 'cache.custom_module', message: expect.stringMatching(/lacks analytics\.read\(\) \(/) as string });
  });

  it('refuses a module that is not there, one that fails to import, and a package that is not installed', async () => {
    expect(await refusal(loadCustomFactory('queue', { module: './nope.mjs', exportName: '', config: {} }, dir))).toEqual({
      path: 'queue.custom_module',
      message: `cannot import ./nope.mjs: ${join(dir, 'nope.mjs')} is not a file`,
    });
    file('broken.mjs', 'export default {');
    expect((await refusal(loadCustomFactory('cache', { module: './broken.mjs', exportName: '', config: {} }, dir))).message).toMatch(/^cannot import \.\/broken\.mjs: /);
    expect((await refusal(loadCustomFactory('queue', { module: 'openhqm-no-such-backend', exportName: '', config: {} }, dir))).message).toMatch(/^cannot import openhqm-no-such-backend: .*openhqm-no-such-backend/);
  });

  it('refuses a missing export under the key that chose it, listing what the module exports', async () => {
    file('named.mjs', 'export const queue = { type: "q", create: async () => ({}) };\nexport const notAFactory = { type: "q" };');
    expect(await refusal(loadCustomFactory('queue', { module: './named.mjs', exportName: 'Queue', config: {} }, dir))).toEqual({
      path: 'queue.custom_class',
      message: './named.mjs has no export "Queue"; it exports queue, notAFactory',
    });
    expect(await refusal(loadCustomFactory('queue', { module: './named.mjs', exportName: '', config: {} }, dir))).toMatchObject({
      path: 'queue.custom_module',
      message: expect.stringMatching(/has no export "factory" \(nor a default export\)/) as string,
    });
    expect((await refusal(loadCustomFactory('queue', { module: './named.mjs', exportName: 'notAFactory', config: {} }, dir))).message).toMatch(/export "notAFactory" of \.\/named\.mjs is not an adapter factory/);
    // A file: URL, and the export named `factory` when there is no default.
    const url = pathToFileURL(file('fallback.mjs', 'export const factory = { type: "f", create: async () => ({}) };')).href;
    expect((await loadCustomFactory('queue', { module: url, exportName: '', config: {} })).type).toBe('f');
  });

  it('keeps the required members in step with the ports: the reference adapters have those methods (the compiler checks the lists against the port types)', async () => {
    const methodsOf = (object: object): string[] => {
      const names = new Set<string>();
      for (let o: object | null = object; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
        for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor' && typeof (object as Record<string, unknown>)[name] === 'function') names.add(name);
      }
      return [...names].sort();
    };
    const queue: QueueBackend = await memoryQueue.create({}, context);
    const store: ResultStore = await memoryStore.create({ ttl_seconds: 60 }, context);
    try {
      expect(methodsOf(queue)).toEqual([...QUEUE_BACKEND_METHODS].sort());
      expect(Object.keys(queue.capabilities).sort()).toEqual([...QUEUE_CAPABILITY_KEYS].sort());
      // The store has helpers of its own beside the port (sweep, holds); the port's methods are all there.
      expect(methodsOf(store)).toEqual(expect.arrayContaining([...RESULT_STORE_METHODS]));
      expect(Object.keys(store.capabilities).sort()).toEqual([...RESULT_STORE_CAPABILITY_KEYS].sort());
      expect(methodsOf(store.analytics)).toEqual(expect.arrayContaining([...ANALYTICS_STORE_METHODS]));
    } finally {
      await queue.close();
      await store.close();
    }
  });
});

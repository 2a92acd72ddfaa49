/**
 * docs/adapters.md's capability table says what every queue backend declares: one row per
 * `queue.type` of the registry, one column per capability value, checked against the values the
 * backend itself reports once opened (Redis and PostgreSQL on the machine's servers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queueBackends } from '../../src/adapters/queue/registry.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueCapabilityValues } from '../../src/ports/queue-backend.js';
import { dropSchema, POSTGRES_URL, requirePostgres, testSchema } from '../helpers/postgres.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const doc = readFileSync(new URL('../../docs/adapters.md', import.meta.url), 'utf8');
const schema = testSchema();
const prefix = testPrefix();

afterAll(async () => {
  if ((await requirePostgres()) === undefined) await dropSchema(schema);
  if ((await requireRedis()) === undefined) await deleteKeys(prefix, { url: REDIS_URL });
});

/** How each backend is opened here; a skip reason when its server is not there. */
const settings: Readonly<Record<string, () => Promise<Record<string, unknown> | { skip: string }>>> = {
  memory: async () => ({}),
  sqlite: async () => ({ path: join(tempDir(), 'queue.db') }),
  redis: async () => (await requireRedis()) ?? { redis_url: REDIS_URL, key_prefix: prefix },
  postgres: async () => (await requirePostgres()) ?? { postgres_url: POSTGRES_URL, schema, pool_size: 1 },
};

const LONGEST_TIMER_MS = 2_147_483_647;

function duration(ms: number): string {
  if (ms === LONGEST_TIMER_MS) return '~24.8 days';
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The table's cells for `values`, in its column order. */
function cells(values: QueueCapabilityValues): string[] {
  const { delays, lease } = values;
  return [
    delays === null ? 'none' : `${duration(delays.maxMs)}, ${duration(delays.granularityMs)}`,
    lease === null ? 'none' : `${duration(lease.minMs)} – ${duration(lease.maxMs)}, ${duration(lease.granularityMs)}`,
    values.redelivery,
    values.deliveryCounting,
    values.staleSettles,
    values.priorities,
    values.ordering.replace('-', ' '),
    values.stats,
    values.deadLetterBrowsing ? 'yes' : 'no',
  ];
}

/** The capability table's rows by backend type, each cell without its parenthetical remark. */
function documentedRows(): Map<string, string[]> {
  const start = doc.indexOf('| backend | delays (max, step) |');
  expect(start, 'the capability table').toBeGreaterThan(0);
  const rows = new Map<string, string[]>();
  for (const line of doc.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [name, ...rest] = line.split('|').slice(1, -1).map((c) => c.trim());
    const type = /^`([a-z_]+)`/.exec(name ?? '')?.[1];
    if (type !== undefined) rows.set(type, rest.map((c) => c.replace(/\s*\(.*\)$/, '')));
  }
  return rows;
}

describe('docs/adapters.md capability table', () => {
  it('has one row per queue backend of the registry', () => {
    expect([...documentedRows().keys()].sort()).toEqual(Object.keys(queueBackends).sort());
  });

  for (const type of Object.keys(queueBackends)) {
    it(`says what ${type} declares`, async (ctx) => {
      const options = await settings[type]?.();
      if (options === undefined) throw new Error(`no settings for ${type}: add them to this test`);
      if ('skip' in options && typeof options.skip === 'string') return ctx.skip(options.skip);
      const { factory } = await queueBackends[type]!();
      const backend = await factory.create(options, { logger: silentLogger });
      try {
        expect(documentedRows().get(type)).toEqual(cells(backend.capabilities));
      } finally {
        await backend.close();
      }
    });
  }
});

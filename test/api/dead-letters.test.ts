import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/request/envelope.js';
import { QUEUE, testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { gateway, type Gateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/** Fails every attempt while the payload says `fail`; retried twice before it is dead-lettered. */
async function failing(): Promise<Gateway> {
  return gateway({
    processor: async (envelope: Envelope) => {
      if (envelope.payload.fail === true) throw new Error(`broken input ${JSON.stringify(envelope.payload.n ?? '')}`);
      return { fixed: envelope.payload.n ?? null };
    },
  });
}

interface DeadLetterView {
  id: string;
  correlation_id: string | null;
  reason: string;
  error_code: string | null;
  attempts: number;
  attempt_errors: Array<{ attempt: number; error: string }>;
  status: string | null;
  status_code: number | null;
}

async function deadLettered(g: Gateway, payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ id: string; letter: DeadLetterView }> {
  const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload, headers } });
  const id = res.json<{ correlation_id: string }>().correlation_id;
  const letter = await waitFor(
    async () => {
      const list = await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters?limit=100' });
      return list.json<{ dead_letters: DeadLetterView[] }>().dead_letters.find((d) => d.correlation_id === id);
    },
    { what: `request ${id} to be dead-lettered` },
  );
  return { id, letter };
}

describe('dead letters', () => {
  it('lists a failed request with its reason, error code, attempts and each attempt\'s error', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true, n: 1 });
    expect(letter).toMatchObject({ correlation_id: id, reason: 'broken input 1', error_code: 'HQM_ERR_PROCESSOR_FAILED', attempts: 3, status: 'FAILED', status_code: null });
    expect(letter.id).toMatch(/^default:/);
    expect(letter.attempt_errors.map((e) => [e.attempt, e.error])).toEqual([
      [1, 'broken input 1'],
      [2, 'broken input 1'],
      [3, 'broken input 1'],
    ]);
    const detail = await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${letter.id}` });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({ ...letter, payload: { fail: true, n: 1 }, header_names: [] });
  });

  it('shows header names, never their values', async () => {
    const g = await failing();
    const { letter } = await deadLettered(g, { fail: true }, { Authorization: 'Bearer secret-token' });
    const detail = await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${letter.id}` });
    expect(detail.json<{ header_names: string[] }>().header_names).toEqual(['Authorization']);
    expect(detail.body).not.toContain('secret-token');
  });

  it('pages newest first by cursor', async () => {
    const g = await failing();
    const ids: string[] = [];
    for (let n = 0; n < 3; n += 1) ids.push((await deadLettered(g, { fail: true, n })).id);
    const first = (await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters?limit=2' })).json<{ dead_letters: DeadLetterView[]; next_cursor: string | null }>();
    expect(first.dead_letters.map((d) => d.correlation_id)).toEqual([ids[2], ids[1]]);
    const second = (await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters?limit=2&cursor=${first.next_cursor ?? ''}` })).json<{ dead_letters: DeadLetterView[]; next_cursor: string | null }>();
    expect(second.dead_letters.map((d) => d.correlation_id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeNull();
  });

  it('replays with a fixed payload: the same id runs again from attempt 1 and completes; the trail says replayed; the dead letter is gone', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true, n: 7 });
    const res = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay`, payload: { payload: { n: 7 } } });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ correlation_id: id, status: 'PENDING' });
    expect(res.headers.location).toBe(`/api/v1/requests/${id}`);
    const done = await g.finished(id);
    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 1, outcome: { result: { fixed: 7 } } });
    const trail = (await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}/events` })).json<{ events: Array<{ from: string | null; to: string; kind?: string }> }>().events;
    const replayed = trail.filter((e) => e.kind === 'replayed');
    expect(replayed).toEqual([expect.objectContaining({ from: 'FAILED', to: 'PENDING' })]);
    expect(trail.at(-1)).toMatchObject({ from: 'PROCESSING', to: 'COMPLETED' });
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${letter.id}` })).statusCode).toBe(404);
    // Replayed once: a second replay of the same dead letter finds nothing.
    const again = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay` });
    expect(again.statusCode).toBe(404);
  });

  it('replays without a body as it was; one that fails again is a new dead letter', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true });
    expect((await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay` })).statusCode).toBe(202);
    const next = await waitFor(
      async () => {
        const list = (await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters' })).json<{ dead_letters: DeadLetterView[] }>();
        return list.dead_letters.find((d) => d.correlation_id === id && d.id !== letter.id);
      },
      { what: 'the replayed request to be dead-lettered again' },
    );
    // Only the errors of the attempts since the replay.
    expect(next.attempt_errors.map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('recreates a request whose record expired, and runs it', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true, n: 2 });
    await g.store.delete(id);
    const res = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay`, payload: { payload: { n: 2 } } });
    expect(res.statusCode, res.body).toBe(202);
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', outcome: { result: { fixed: 2 } } });
  });

  it('checks a replacement as a submit: bad metadata is a 422 and nothing changes', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true });
    for (const payload of [{ metadata: { priority: 'bogus' } }, { payload: 'not an object' }, { metadata: { queue: 'nope' } }, { headers: { 'bad name': 'x' } }]) {
      const res = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay`, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json()).toMatchObject({ code: 'HQM_ERR_VALIDATION' });
    }
    expect(await g.store.get(id)).toMatchObject({ status: 'FAILED' });
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${letter.id}` })).statusCode).toBe(200);
  });

  it('refuses to replay a message that is not an OpenHQM request (409), and one whose request runs again (409 with its status)', async () => {
    const g = await failing();
    await g.queue.publish(QUEUE, { body: JSON.stringify({ fail: true }) });
    const bare = await waitFor(
      async () => (await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters' })).json<{ dead_letters: DeadLetterView[] }>().dead_letters[0],
      { what: 'the bare message to be dead-lettered' },
    );
    const res = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${bare.id}/replay` });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_NOT_REPLAYABLE' });

    const { id, letter } = await deadLettered(g, { fail: true });
    await g.pool.stop(); // So the replayed request stays PENDING, as does one whose replay was interrupted…
    await g.store.replay({ id, deadlineAt: null });
    await g.store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 }); // …and then runs.
    const refused = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'HQM_ERR_NOT_REPLAYABLE', status: 'PROCESSING' });
  });

  it('finishes a replay that stopped after moving the record: the dead letter still there, it publishes once', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true, n: 3 });
    await g.store.replay({ id, deadlineAt: Date.now() + 60_000 }); // As if the process died here.
    const res = await g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay`, payload: { payload: { n: 3 } } });
    expect(res.statusCode, res.body).toBe(202);
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', attempt: 1 });
  });

  it('two concurrent replays of one dead letter: one 202, the request runs once', async () => {
    let runs = 0;
    const g = await gateway({
      processor: async (envelope: Envelope) => {
        runs += 1;
        if (envelope.payload.fail === true) throw new Error('broken');
        return 'ok';
      },
    });
    const { id, letter } = await deadLettered(g, { fail: true });
    runs = 0;
    const answers = await Promise.all([1, 2].map(() => g.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${letter.id}/replay`, payload: { payload: {} } })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 404]);
    await g.finished(id);
    await waitFor(async () => (await g.queue.stats(QUEUE)).depth === 0 && (await g.queue.stats(QUEUE)).inFlight === 0, { what: 'the queue to drain' });
    expect(runs).toBe(1);
  });

  it('removes one dead letter, and purges those before a time', async () => {
    const g = await failing();
    const { letter } = await deadLettered(g, { fail: true, n: 1 });
    await deadLettered(g, { fail: true, n: 2 });
    expect((await g.app.inject({ method: 'DELETE', url: `/api/v1/dead-letters/${letter.id}` })).statusCode).toBe(204);
    expect((await g.app.inject({ method: 'DELETE', url: `/api/v1/dead-letters/${letter.id}` })).statusCode).toBe(404);
    const past = await g.app.inject({ method: 'DELETE', url: '/api/v1/dead-letters?before=2000-01-01T00:00:00Z' });
    expect(past.json()).toEqual({ queue: 'default', purged: 0 });
    const all = await g.app.inject({ method: 'DELETE', url: `/api/v1/dead-letters?queue=default&before=${new Date(Date.now() + 60_000).toISOString()}` });
    expect(all.json()).toEqual({ queue: 'default', purged: 1 });
    expect((await g.app.inject({ method: 'GET', url: '/api/v1/dead-letters' })).json()).toEqual({ queue: 'default', dead_letters: [], next_cursor: null });
  });

  it('answers bad input with a 422 naming it, and unknown ids with a 404', async () => {
    const api = await testApi();
    for (const url of ['/api/v1/dead-letters?limit=0', '/api/v1/dead-letters?limit=101', '/api/v1/dead-letters?queue=nope', '/api/v1/dead-letters?cursor=zzz']) {
      const res = await api.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(422);
      expect(res.json(), url).toMatchObject({ code: 'HQM_ERR_VALIDATION' });
    }
    for (const url of ['/api/v1/dead-letters', '/api/v1/dead-letters?before=yesterday', '/api/v1/dead-letters?before=2026-01-01T10:00:00']) {
      expect((await api.app.inject({ method: 'DELETE', url })).statusCode, url).toBe(422);
    }
    for (const id of ['default:999', 'nope:1', 'nocolon', 'default:']) {
      expect((await api.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${id}` })).statusCode, id).toBe(404);
      expect((await api.app.inject({ method: 'POST', url: `/api/v1/dead-letters/${id}/replay` })).statusCode, id).toBe(404);
      expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/dead-letters/${id}` })).statusCode, id).toBe(404);
    }
  });

  it('is for admins only: a tenant\'s submit or read key is refused on every dead-letter route', async () => {
    const api = await testApi({ auth: apiAuth() });
    const calls = [
      { method: 'GET', url: '/api/v1/dead-letters' },
      { method: 'GET', url: '/api/v1/dead-letters/default:1' },
      { method: 'POST', url: '/api/v1/dead-letters/default:1/replay' },
      { method: 'DELETE', url: '/api/v1/dead-letters/default:1' },
      { method: 'DELETE', url: '/api/v1/dead-letters?before=2030-01-01' },
    ] as const;
    for (const call of calls) {
      for (const key of [KEYS.acme, KEYS.acmeReader]) expect((await api.app.inject({ ...call, headers: bearer(key) })).statusCode, call.url).toBe(403);
      expect((await api.app.inject({ ...call })).statusCode, call.url).toBe(401);
    }
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/dead-letters', headers: bearer(KEYS.admin) })).statusCode).toBe(200);
  });

  it('is in the OpenAPI document', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths['/api/v1/dead-letters'] ?? {}).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(doc.paths['/api/v1/dead-letters/{id}'] ?? {}).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(doc.paths['/api/v1/dead-letters/{id}/replay'] ?? {})).toEqual(['post']);
  });

  it('answers 409 HQM_ERR_UNSUPPORTED to remove, purge and replay on a backend whose dead letters are read-only, moving nothing', async () => {
    const g = await failing();
    const { id, letter } = await deadLettered(g, { fail: true, n: 9 });
    // As the kafka and azure_eventhubs queues declare (D265).
    Object.defineProperty(g.queue, 'capabilities', { value: { ...g.queue.capabilities, deadLetterBrowsing: false } });
    for (const call of [
      { method: 'DELETE' as const, url: `/api/v1/dead-letters/${letter.id}` },
      { method: 'DELETE' as const, url: `/api/v1/dead-letters?before=${new Date(Date.now() + 60_000).toISOString()}` },
      { method: 'POST' as const, url: `/api/v1/dead-letters/${letter.id}/replay` },
    ]) {
      const res = await g.app.inject(call);
      expect(res.statusCode, call.url).toBe(409);
      expect(res.json(), call.url).toMatchObject({ code: 'HQM_ERR_UNSUPPORTED' });
    }
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).json()).toMatchObject({ status: 'FAILED' });
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/dead-letters/${letter.id}` })).statusCode).toBe(200);
  });
});

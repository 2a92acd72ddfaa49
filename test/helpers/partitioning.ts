/**
 * The partitioning scenario the end-to-end tests run on each shared backend: `openhqm api` and
 * two `openhqm worker` processes, requests of 10 keys submitted in order, one worker killed
 * (SIGKILL) mid-stream. Each key must be processed one at a time and in submission order
 * through the kill (its keys pass to the survivor after the visibility timeout), while
 * different keys run at the same time.
 */
import { expect } from 'vitest';
import { finished, getJson, startCli, submit, type CliProcess } from './cli.js';
import { startUpstream } from './upstream.js';
import { waitFor } from './wait.js';

const KEYS = 10;
const PER_KEY = 12;

/** Runs the scenario with `backendEnv` selecting the queue and the store. */
export async function runPartitionScenario(backendEnv: Record<string, string>): Promise<void> {
  const upstream = await startUpstream();
  const env = {
    ...backendEnv,
    OPENHQM_PROXY__ENABLED: 'true',
    // Slow enough that the stream is still running when the kill comes (12 calls a key, in order).
    OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/ordered?ms=100`,
    OPENHQM_PARTITIONING__ENABLED: 'true',
    OPENHQM_PARTITIONING__STRATEGY: 'key',
    OPENHQM_PARTITIONING__PARTITION_KEY_FIELD: 'metadata.session_id',
    OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
    OPENHQM_WORKER__COUNT: '8',
  };
  const api = await startCli(['api'], env).ready();
  const processes: CliProcess[] = [api];
  try {
    const ids: string[] = [];
    for (let seq = 0; seq < PER_KEY; seq += 1) {
      for (let k = 0; k < KEYS; k += 1) {
        const res = await submit(api.url, { key: `session-${k}`, seq }, { session_id: `session-${k}` });
        expect(res.status).toBe(202);
        ids.push(res.body.correlation_id as string);
      }
    }
    // Started together: one started after the other found its work already done.
    const [doomed, survivor] = await Promise.all([
      startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'doomed' }).ready(),
      startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'survivor' }).ready(),
    ]);
    processes.push(doomed, survivor);
    // Killed while it holds a request (one whose call is under way): killed idle, it would
    // hand nothing over and the scenario would prove nothing about the kill.
    const holding = async (): Promise<boolean> => {
      for (const call of upstream.calls.filter((c) => c.end === Number.POSITIVE_INFINITY)) {
        const events = (await getJson(`${api.url}/api/v1/requests/${call.id}/events`)).body.events as Array<{ to: string; worker_id: string | null }>;
        if (events.at(-1)?.to === 'PROCESSING' && events.at(-1)?.worker_id === 'doomed') return true;
      }
      return false;
    };
    await waitFor(holding, { what: 'the doomed worker to hold a request' });
    doomed.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');

    for (const id of ids) expect(await finished(api.url, id, 60_000)).toMatchObject({ status: 'COMPLETED' });
    // The kill cut work short: some request the doomed worker held was finished by the survivor.
    const trails = await Promise.all(ids.map(async (id) => (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; worker_id: string | null }>));
    const takenOver = trails.filter((t) => t.some((e) => e.to === 'PROCESSING' && e.worker_id === 'doomed') && t.at(-1)?.worker_id === 'survivor');
    expect(takenOver.length).toBeGreaterThan(0);

    for (let k = 0; k < KEYS; k += 1) {
      const calls = upstream.calls.filter((c) => c.key === `session-${k}`);
      const seqs = calls.map((c) => c.seq);
      // In submission order; a call cut short by the kill may be repeated, never overtaken.
      expect(seqs, `session-${k}`).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs)).toEqual(new Set(Array.from({ length: PER_KEY }, (_, i) => i)));
      for (let i = 1; i < calls.length; i += 1) {
        expect(calls[i]!.start, `session-${k} overlap`).toBeGreaterThanOrEqual(calls[i - 1]!.end);
      }
    }
    // Different keys did run at the same time.
    const overlapping = upstream.calls.some((a) => upstream.calls.some((b) => a.key !== b.key && a.start < b.end && b.start < a.end));
    expect(overlapping).toBe(true);
    for (const p of [api, survivor]) p.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
    expect((await api.exited).code).toBe(0);
  } finally {
    for (const p of processes) p.kill('SIGKILL');
  }
}

/**
 * `openhqm bridge mqtt` end to end, on the machine's Mosquitto and a SQLite durable queue: a
 * device (a plain mqtt.js client, no OpenHQM code) publishes 2,000 jobs with MQTT v5
 * correlation data; `openhqm start` runs them. The bridge is SIGKILLed midway and started
 * again under the same client id: every job has exactly one completed request (its id derives
 * from the correlation data, D272), a job published while the bridge was down waited in its
 * session, + and # filters route, and a malformed payload is a FAILED request with its reason.
 * Topics, group and client id are this run's own; the bridge's session is dropped afterwards.
 */
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { correlationIdFor } from '../../src/core/request/ids.js';
import { getJson, runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { deviceClient, dropSession, MQTT_HOST, MQTT_PORT, requireMosquitto, testName } from '../helpers/mqtt.js';
import { freePort } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'mqtt-bridge-test-secret-0123456789';
const TOTAL = 2_000;

describe('MQTT bridge', () => {
  const dir = tempDir();
  const name = testName();
  const clientId = `${name}-bridge`;
  const processes: CliProcess[] = [];
  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await dropSession(clientId).catch(() => undefined);
  });

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    OPENHQM_QUEUE__TYPE: 'sqlite',
    OPENHQM_SQLITE__PATH: join(dir, 'bridge.db'),
    OPENHQM_QUEUE__ID_SECRET: SECRET,
    OPENHQM_QUEUE__MQTT_BROKER_HOST: '127.0.0.1',
    ...extra,
  });
  const bridgeArgs = ['bridge', 'mqtt', '--topic', `${name}/+/jobs`, '--topic', `${name}/fleet/#`, '--group', name, '--client-id', clientId];

  async function startBridge(probePort: number): Promise<CliProcess> {
    const bridge = startCli(bridgeArgs, env({ OPENHQM_MONITORING__METRICS_PORT: String(probePort) }));
    processes.push(bridge);
    const exited = bridge.exited.then((exit) => {
      throw new Error(`the bridge exited (${exit.code ?? exit.signal}):\n${bridge.output.join('\n')}`);
    });
    await Promise.race([exited, waitFor(() => bridge.output.some((l) => l.includes('MQTT bridge running')), { what: 'the bridge to start' })]);
    return bridge;
  }

  /** The id the bridge gives a message with this correlation data on this topic. */
  const idOf = (topic: string, correlation: string): string => correlationIdFor(`mqtt\0${topic}\0${Buffer.from(correlation).toString('hex')}`, SECRET);
  const topicOf = (i: number): string => (i % 10 === 9 ? `${name}/fleet/site${i % 3}/line` : `${name}/dev${i % 7}/jobs`);
  const job = (i: number) => ({ topic: topicOf(i), correlation: `job-${i}`, body: JSON.stringify({ operation: 'echo', data: i }) });

  /**
   * Publishes jobs `from`..`to`, 100 at a time, each batch only once the bridge is within 600 of
   * it (`bridged(i)`: job i has a request): Mosquitto queues at most max_queued_messages (1,000
   * by default) for one session, online or not, and drops the rest.
   */
  async function publish(device: MqttClient, from: number, to: number, bridged?: (i: number) => Promise<boolean>): Promise<void> {
    for (let start = from; start < to; start += 100) {
      const behind = start - 600;
      if (bridged !== undefined && behind >= 0) await waitFor(() => bridged(behind), { what: `job ${behind} to be bridged`, timeoutMs: 60_000 });
      const batch = Array.from({ length: Math.min(100, to - start) }, (_, k) => job(start + k));
      await Promise.all(batch.map((j) => device.publishAsync(j.topic, j.body, { qos: 1, properties: { correlationData: Buffer.from(j.correlation) } })));
    }
  }

  it('moves 2,000 jobs into the durable queue across a SIGKILL of the bridge: none lost, none twice; wildcards route; a malformed payload is a FAILED request with its reason', async (ctx) => {
    const missing = await requireMosquitto();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const gateway = startCli(['start'], env({ OPENHQM_WORKER__COUNT: '8' }));
    processes.push(gateway);
    await gateway.ready();
    const probePort = await freePort();
    let bridge = await startBridge(probePort);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${probePort}/health/ready`)).status === 200, { what: 'the bridge to be ready' });
    const device = await deviceClient();
    const record = async (id: string): Promise<Record<string, unknown> | undefined> => {
      const res = await getJson(`${gateway.url}/api/v1/response/${id}`);
      return res.status === 404 ? undefined : res.body;
    };
    try {
      // A malformed payload and a topic no filter matches, then the first 800 jobs.
      await device.publishAsync(`${name}/dev0/jobs`, 'not json {', { qos: 1, properties: { correlationData: Buffer.from('bad-1') } });
      await device.publishAsync(`${name}/dev0/other`, JSON.stringify({ operation: 'echo', data: 'unrouted' }), { qos: 1, properties: { correlationData: Buffer.from('unrouted') } });
      const bridged = async (i: number): Promise<boolean> => (await record(idOf(job(i).topic, job(i).correlation))) !== undefined;
      await publish(device, 0, 800, bridged);
      const midway = job(400);
      await waitFor(async () => (await record(idOf(midway.topic, midway.correlation))) !== undefined, { what: 'the bridge to be midway', timeoutMs: 60_000 });
      bridge.kill('SIGKILL');
      await bridge.exited;
      // Published while no bridge runs: kept in its session (at most 400 beyond the 600 it may be behind).
      await publish(device, 800, 1_200);
      bridge = await startBridge(probePort);
      await publish(device, 1_200, TOTAL, bridged);

      const last = job(TOTAL - 1);
      await waitFor(async () => (await record(idOf(last.topic, last.correlation)))?.status === 'COMPLETED', { what: 'the last job', timeoutMs: 120_000 });
      const missingJobs: number[] = [];
      for (let i = 0; i < TOTAL; i += 1) {
        const j = job(i);
        const found = await waitFor(async () => {
          const r = await record(idOf(j.topic, j.correlation));
          return r?.status === 'COMPLETED' ? r : r === undefined ? { missing: true } : undefined;
        }, { what: `job ${i} to complete`, timeoutMs: 30_000 });
        if ('missing' in found) missingJobs.push(i);
        else expect((found.result as { output?: unknown } | undefined)?.output).toBe(i);
      }
      expect(missingJobs).toEqual([]);

      const bad = await record(idOf(`${name}/dev0/jobs`, 'bad-1'));
      expect(bad).toMatchObject({ status: 'FAILED' });
      expect(JSON.stringify(bad)).toMatch(/refused the message on .*dev0\/jobs: payload is not JSON/);
      expect(await record(idOf(`${name}/dev0/other`, 'unrouted'))).toBeUndefined();

      // Exactly one request per job and the refusal: a redelivered job made no second one.
      let count = 0;
      for (let cursor: string | null = null; ; ) {
        const page = await getJson(`${gateway.url}/api/v1/requests?limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        count += (page.body.requests as unknown[]).length;
        cursor = page.body.next_cursor as string | null;
        if (cursor === null) break;
      }
      expect(count).toBe(TOTAL + 1);

      bridge.kill('SIGTERM');
      expect((await bridge.exited).code).toBe(0);
    } finally {
      await device.endAsync();
    }
  }, 300_000);

  it('reports not ready while the broker is unreachable, reconnects by itself, and then moves what waited in its session', async (ctx) => {
    const missing = await requireMosquitto();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const group = `${name}-r`;
    const id = `${clientId}-r`;
    const topic = `${name}/reconnect/jobs`;
    let proxy = await vanishingProxy(MQTT_HOST, MQTT_PORT);
    const gateway = startCli(['start'], env({ OPENHQM_SQLITE__PATH: join(dir, 'reconnect.db') }));
    processes.push(gateway);
    await gateway.ready();
    const probePort = await freePort();
    const bridge = startCli(['bridge', 'mqtt', '--topic', `${name}/+/jobs`, '--group', group, '--client-id', id], env({ OPENHQM_SQLITE__PATH: join(dir, 'reconnect.db'), OPENHQM_MONITORING__METRICS_PORT: String(probePort), OPENHQM_QUEUE__MQTT_BROKER_PORT: String(proxy.port) }));
    processes.push(bridge);
    const ready = async (): Promise<{ status: number; body: string }> => {
      const res = await fetch(`http://127.0.0.1:${probePort}/health/ready`).catch(() => undefined);
      return res === undefined ? { status: 0, body: '' } : { status: res.status, body: await res.text() };
    };
    const device = await deviceClient();
    try {
      await waitFor(async () => (await ready()).status === 200, { what: 'the bridge to be ready', timeoutMs: 30_000 });
      proxy.vanish();
      const down = await waitFor(async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      }, { what: 'readiness to notice the lost broker' });
      expect(down.body).toContain('not connected to the MQTT broker');
      await device.publishAsync(topic, JSON.stringify({ operation: 'echo', data: 'waited' }), { qos: 1, properties: { correlationData: Buffer.from('waited') } });
      proxy = await vanishingProxy(MQTT_HOST, MQTT_PORT, proxy.port);
      await waitFor(async () => (await ready()).status === 200, { what: 'the bridge to reconnect', timeoutMs: 30_000 });
      const record = await waitFor(async () => {
        const res = await getJson(`${gateway.url}/api/v1/response/${idOf(topic, 'waited')}`);
        return res.body.status === 'COMPLETED' ? res.body : undefined;
      }, { what: 'the job published during the outage' });
      expect((record.result as { output?: unknown }).output).toBe('waited');
    } finally {
      proxy.vanish();
      await device.endAsync();
      bridge.kill('SIGKILL');
      await bridge.exited;
      await dropSession(id).catch(() => undefined);
    }
  }, 120_000);

  it('stops at start with a non-zero exit naming the broker when MQTT cannot be reached', async () => {
    const port = await freePort();
    const done = await runCli([...bridgeArgs.slice(0, 4), '--group', `${name}-x`], env({ OPENHQM_QUEUE__MQTT_BROKER_PORT: String(port), OPENHQM_SQLITE__PATH: join(dir, 'unreachable.db') }));
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`MQTT broker at 127.0.0.1:${port}: MQTT is unavailable`);
  }, 60_000);

  it('refuses to bridge into the at-most-once mqtt queue (exit 2)', async () => {
    const done = await runCli([...bridgeArgs.slice(0, 4), '--group', `${name}-z`], env({ OPENHQM_QUEUE__TYPE: 'mqtt', OPENHQM_QUEUE__MQTT_AT_MOST_ONCE: 'true', OPENHQM_QUEUE__MQTT_TOPIC_PREFIX: name }));
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/queue\.type: the bridge moves MQTT messages into a queue that keeps them; the mqtt queue delivers at most once/);
  }, 60_000);

  it('stops at start with a non-zero exit naming the queue when the durable queue cannot be reached', async () => {
    const port = await freePort();
    const done = await runCli([...bridgeArgs.slice(0, 4), '--group', `${name}-y`], env({ OPENHQM_QUEUE__TYPE: 'redis', OPENHQM_CACHE__TYPE: 'redis', OPENHQM_QUEUE__REDIS_URL: `redis://127.0.0.1:${port}`, OPENHQM_CACHE__REDIS_URL: `redis://127.0.0.1:${port}`, OPENHQM_REDIS__CONNECT_TIMEOUT_MS: '500' }));
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`Redis did not answer within 500 ms (connect ECONNREFUSED 127.0.0.1:${port})`);
  }, 60_000);
});

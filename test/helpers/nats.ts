/**
 * NATS JetStream for tests: the machine's server (nats://127.0.0.1:4222, or
 * OPENHQM_TEST_NATS_URL) with stream and subject prefixes of a run's own (`natsPrefixes`),
 * whose streams are deleted afterwards (`dropNatsStreams`); and private servers a test starts,
 * stops and kills itself (`startPrivateNats`, `startNatsCluster`), on free loopback ports with
 * their own store directories.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, IN_CI, reachable, requireServer } from './servers.js';

export const NATS_URL = process.env.OPENHQM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Skip (or, under CI=true, fail) when the machine's NATS is not there. */
export function requireNats(): Promise<{ skip: string } | undefined> {
  const url = new URL(NATS_URL);
  return requireServer('NATS (with JetStream)', url.hostname, Number(url.port || 4222));
}

/** Stream and subject prefixes no other run uses. */
export function natsPrefixes(): { stream_prefix: string; subject_prefix: string } {
  const id = randomBytes(5).toString('hex');
  return { stream_prefix: `HQMT${id}`, subject_prefix: `hqmt.${id}` };
}

/** Deletes every stream (and key-value bucket) whose name starts with `streamPrefix`. */
export async function dropNatsStreams(streamPrefix: string, url = NATS_URL): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(streamPrefix) || name.startsWith(`KV_${streamPrefix}`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** nats-server's path, or undefined when it is not installed. */
export function natsServerBin(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

function missingServer(): { skip: string } {
  const reason = 'nats-server is not installed (Debian package nats-server)';
  if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
  return { skip: reason };
}

export interface PrivateNats {
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM, or SIGKILL with `kill`) and waits for the process to end; the store stays. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same store; `jetstream: false` leaves JetStream off (a single server only). */
  start(options?: { jetstream?: boolean }): Promise<void>;
  readonly running: boolean;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

class NatsProcess implements PrivateNats {
  #child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly args: readonly string[],
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(options: { jetstream?: boolean } = {}): Promise<void> {
    if (this.#child !== undefined) return;
    const args = options.jetstream === false ? this.args.filter((a) => a !== '-js') : this.args;
    const child = spawn(this.bin, [...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + 15_000;
    while (!(await reachable('127.0.0.1', this.port, 200))) {
      if (this.#child !== child) throw new Error(`nats-server on port ${this.port} exited at start (log: ${join(this.dir, 'nats.log')})`);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${this.port} did not start within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    this.#child = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A single JetStream server of the test's own in `dir`. Skip (or fail under CI=true) without nats-server. */
export async function startPrivateNats(dir: string): Promise<PrivateNats | { skip: string }> {
  const bin = natsServerBin();
  if (bin === undefined) return missingServer();
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const server = new NatsProcess(port, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store'), '-l', join(dir, 'nats.log')], dir, bin);
  await server.start();
  return server;
}

/** A three-node JetStream cluster on loopback ports, each node with its own store under `dir`. */
export async function startNatsCluster(dir: string): Promise<{ nodes: PrivateNats[]; url: string } | { skip: string }> {
  const bin = natsServerBin();
  if (bin === undefined) return missingServer();
  const clients = [await freePort(), await freePort(), await freePort()];
  const routes = [await freePort(), await freePort(), await freePort()];
  const nodes = clients.map((port, i) => {
    const home = join(dir, `n${i + 1}`);
    mkdirSync(home, { recursive: true });
    const conf = join(home, 'nats.conf');
    writeFileSync(
      conf,
      [
        `server_name: n${i + 1}`,
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: "${join(home, 'store')}" }`,
        'cluster {',
        '  name: hqm-test',
        `  listen: 127.0.0.1:${routes[i]}`,
        `  routes: [${routes.map((r) => `nats-route://127.0.0.1:${r}`).join(', ')}]`,
        '}',
      ].join('\n'),
    );
    return new NatsProcess(port, ['-c', conf, '-l', join(home, 'nats.log')], home, bin);
  });
  await Promise.all(nodes.map((n) => n.start()));
  return { nodes, url: nodes.map((n) => n.url).join(',') };
}

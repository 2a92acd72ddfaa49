/**
 * RabbitMQ for tests: the machine's broker (amqp://guest:guest@127.0.0.1:5672, or
 * OPENHQM_TEST_RABBITMQ_URL), with every queue, stream and exchange of a run under a prefix of its
 * own (`testPrefix`), deleted afterwards; and a private node (`startPrivateRabbit`) for tests that
 * stop the broker, which the shared one must never be.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, IN_CI, requireServer } from './servers.js';
import { waitFor } from './wait.js';

export const RABBITMQ_URL = process.env.OPENHQM_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Skip (or, under CI=true, fail) when the machine's RabbitMQ is not there. */
export function requireRabbitMQ(url = RABBITMQ_URL): Promise<{ skip: string } | undefined> {
  const parsed = new URL(url);
  return requireServer('RabbitMQ', parsed.hostname, Number(parsed.port || 5672));
}

/** A name prefix no other run uses (`rabbitmq.prefix`). */
export function testPrefix(): string {
  return `hqmt-${randomUUID().slice(0, 8)}.`;
}

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
/** rabbitmqctl and the server run as the rabbitmq user, with its Erlang cookie. */
const AS_RABBITMQ = ['runuser', '-u', 'rabbitmq', '--'];
const RABBITMQ_ENV = { PATH: '/usr/bin:/bin:/usr/sbin', HOME: '/var/lib/rabbitmq', LANG: 'C.UTF-8' };

function rabbitmqctl(node: string | undefined, args: string[], timeoutMs = 60_000): { ok: boolean; output: string } {
  const done = spawnSync(AS_RABBITMQ[0] as string, [...AS_RABBITMQ.slice(1), join(RABBITMQ_BIN, 'rabbitmqctl'), ...(node === undefined ? [] : ['-n', node]), ...args], {
    encoding: 'utf8',
    env: RABBITMQ_ENV,
    timeout: timeoutMs,
  });
  return { ok: done.status === 0, output: `${done.stdout ?? ''}${done.stderr ?? ''}` };
}

/**
 * Deletes every queue (and the due exchange) whose name starts with `prefix`, on the machine's
 * broker or the private `node`, through `rabbitmqctl eval` (AMQP cannot list queues, and the
 * management plugin is not enabled). Prefixes are a test's own, so this never touches another
 * run's queues. Without rabbitmqctl (not root, no broker package) nothing is deleted.
 *
 * Called after every test, not only at the end: the machine's broker runs with 1024 file
 * descriptors, and each quorum queue holds three of the 927 its file-handle cache allows; a run
 * that kept its queues until the end would exhaust them and stall the broker for everyone.
 */
export function deleteWithPrefix(prefix: string, node?: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`not a test prefix: ${prefix}`);
  const expression = [
    `P = <<"${prefix}">>,`,
    '[rabbit_amqqueue:delete(Q, false, false, <<"openhqm-test">>) || Q <- rabbit_amqqueue:list(), binary:longest_common_prefix([element(4, amqqueue:get_name(Q)), P]) == byte_size(P)],',
    `catch rabbit_exchange:delete(rabbit_misc:r(<<"/">>, exchange, <<P/binary, "openhqm:due">>), false, <<"openhqm-test">>),`,
    'ok.',
  ].join(' ');
  rabbitmqctl(node, ['eval', expression]);
}

/** A RabbitMQ node of a test's own (for tests that stop the broker: the machine's is shared). */
export interface PrivateRabbit {
  readonly url: string;
  readonly node: string;
  /** `rabbitmqctl stop_app`: every connection is closed, the node stays up. */
  stopApp(): void;
  startApp(): void;
  rabbitmqctl(args: string[]): { ok: boolean; output: string };
  /** Stops the node for good and removes its files. */
  destroy(): Promise<void>;
}

/**
 * Starts a node named `hqmt-<random>@localhost` with its data, logs and configuration in a
 * directory of its own (readable by the rabbitmq user the server runs as), on free loopback ports. `consumerTimeoutMs` sets the broker's consumer_timeout (checked every
 * second). Skip (or, under CI=true, fail) without root and Debian's rabbitmq-server.
 */
export async function startPrivateRabbit(options: { consumerTimeoutMs?: number } = {}): Promise<PrivateRabbit | { skip: string }> {
  if (!existsSync(join(RABBITMQ_BIN, 'rabbitmq-server')) || process.getuid?.() !== 0) {
    const reason = 'a private RabbitMQ node cannot be started here (needs root and Debian\'s rabbitmq-server package)';
    if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
    return { skip: reason };
  }
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-rabbit-'));
  chmodSync(dir, 0o755);
  const [port, distPort] = [await freePort(), await freePort()];
  const node = `hqmt-${randomUUID().slice(0, 8)}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.local = 127.0.0.1:${port}`, `consumer_timeout = ${options.consumerTimeoutMs ?? 1_800_000}`, 'loopback_users = none', ''].join('\n'));
  // The broker checks consumer_timeout on every channel tick: once a second, not once a minute.
  writeFileSync(join(dir, 'advanced.config'), '[{rabbit, [{channel_tick_interval, 1000}]}].\n');
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  spawnSync('chown', ['-R', 'rabbitmq', dir]);
  const env = {
    ...RABBITMQ_ENV,
    // Not the machine's rabbitmq-env.conf: its node name and Erlang flags are the shared node's.
    RABBITMQ_CONF_ENV_FILE: '/dev/null',
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const server: ChildProcess = spawn(AS_RABBITMQ[0] as string, [...AS_RABBITMQ.slice(1), join(RABBITMQ_BIN, 'rabbitmq-server')], { env, stdio: 'ignore', cwd: dir });
  let exited = false;
  server.once('exit', () => (exited = true));
  const ctl = (args: string[]): { ok: boolean; output: string } => rabbitmqctl(node, args);
  const destroy = async (): Promise<void> => {
    if (!exited) {
      ctl(['stop']);
      await waitFor(() => exited, { timeoutMs: 30_000, what: 'the private RabbitMQ node to stop' }).catch(() => server.kill('SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // await_startup fails at once while the node has not yet registered with epmd: look again.
  let started = { ok: false, output: '' };
  const deadline = Date.now() + 90_000;
  while (!started.ok && !exited && Date.now() < deadline) {
    started = ctl(['await_startup', '--timeout', '60']);
    if (!started.ok) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (!started.ok) {
    await destroy();
    throw new Error(`the private RabbitMQ node did not start: ${started.output}`);
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    stopApp: () => {
      const done = ctl(['stop_app']);
      if (!done.ok) throw new Error(`rabbitmqctl stop_app failed: ${done.output}`);
    },
    startApp: () => {
      const done = ctl(['start_app']);
      if (!done.ok) throw new Error(`rabbitmqctl start_app failed: ${done.output}`);
    },
    rabbitmqctl: ctl,
    destroy,
  };
}

/**
 * Kafka for tests: librdkafka's mock cluster, as Debian's `kcat` carries it (no Kafka broker
 * installs here). `kcat -X test.mock.num.brokers=3` runs three mock brokers in its own process
 * and logs their addresses ("Mock cluster enabled: … replaced with 127.0.0.1:…", a notice: no
 * `-X debug=mock`, whose log of every request would cost the mock most of its time); every test
 * file starts its own and kills it after. The
 * mock keeps everything in memory: a restart loses the log, so an outage is played by stopping
 * the process (SIGSTOP: every connection hangs) and continuing it (SIGCONT).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { IN_CI } from './servers.js';

export interface MockKafka {
  /** Comma-separated host:port of the three brokers. */
  readonly brokers: string;
  readonly child: ChildProcess;
  /** Every broker stops answering (connections stay open and hang), until `resume`. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Skip (or, under CI=true, fail) when `kcat` is not installed. */
export function requireKcat(): { skip: string } | undefined {
  if (spawnSync('kcat', ['-V']).status === 0) return undefined;
  const reason = 'kcat (librdkafka\'s mock Kafka cluster) is not installed';
  if (IN_CI) throw new Error(`${reason} (CI=true: .ci/run installs it with apt-get install kcat)`);
  return { skip: `${reason}; apt-get install kcat to run these tests` };
}

export async function startMockKafka(): Promise<MockKafka> {
  // kcat needs something to do while the mock runs: consume a topic nobody writes to.
  const child = spawn('kcat', ['-b', 'localhost:9092', '-X', 'test.mock.num.brokers=3', '-C', '-q', '-t', `hqm-mock-probe-${randomUUID()}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const brokers = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`kcat did not report its mock cluster within 10 s: ${seen.slice(-500)}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const match = /replaced with (\S+)/.exec(seen);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        // Keep draining whatever else kcat says, or it would block on a full pipe.
        seen = '';
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kcat exited (${code}) before its mock cluster started: ${seen.slice(-500)}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    brokers,
    child,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Produces `values` to `topic` with kcat itself (an outside producer, the broker's own client). */
export function kcatProduce(brokers: string, topic: string, values: readonly string[]): void {
  const result = spawnSync('kcat', ['-b', brokers, '-P', '-t', topic], { input: values.join('\n') + '\n', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`kcat -P failed: ${result.stderr.toString('utf8')}`);
}

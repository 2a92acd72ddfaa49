/**
 * The Google Cloud Pub/Sub emulator for tests: the Cloud SDK's emulator jar, run with `java -jar`
 * (what `gcloud beta emulators pubsub start` runs, without gcloud's second or so of start-up), on
 * a free loopback port. Every test file starts its own and kills its process group after. The
 * emulator keeps everything in memory: a restart loses every topic and message, so an outage is
 * played by cutting a TCP proxy in front of it, never by restarting it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort, IN_CI, reachable } from './servers.js';
import { waitFor } from './wait.js';

export interface PubSubEmulator {
  /** host:port, for `gcp_pubsub.endpoint` or PUBSUB_EMULATOR_HOST. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The emulator's jar under the Cloud SDK that provides `gcloud`, or undefined. */
function emulatorJar(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v gcloud'], { encoding: 'utf8' });
  const roots = ['/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk'];
  if (which.status === 0 && which.stdout.trim() !== '') roots.unshift(dirname(dirname(realpathSync(which.stdout.trim()))));
  for (const root of roots) {
    const lib = join(root, 'platform', 'pubsub-emulator', 'lib');
    if (!existsSync(lib)) continue;
    const jar = readdirSync(lib).find((f) => /^cloud-pubsub-emulator-.*\.jar$/.test(f));
    if (jar !== undefined) return join(lib, jar);
  }
  return undefined;
}

/** Skip (or, under CI=true, fail) when java or the emulator jar is missing. */
export function requirePubSubEmulator(): { skip: string } | undefined {
  const java = spawnSync('java', ['-version']).status === 0;
  const jar = emulatorJar();
  if (java && jar !== undefined) return undefined;
  const reason = java ? 'the Pub/Sub emulator (google-cloud-cli-pubsub-emulator) is not installed' : 'java (for the Pub/Sub emulator) is not installed';
  if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
  return { skip: `${reason}; install it to run these tests` };
}

export async function startPubSubEmulator(): Promise<PubSubEmulator> {
  const jar = emulatorJar();
  if (jar === undefined) throw new Error('the Pub/Sub emulator jar was not found');
  const port = await freePort();
  // Its own process group: the JVM's threads and any child go with one kill.
  const child: ChildProcess = spawn('java', ['-jar', jar, '--host=127.0.0.1', `--port=${port}`], { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await exited;
  };
  try {
    await waitFor(async () => child.exitCode === null && (await reachable('127.0.0.1', port, 200)), { what: 'the Pub/Sub emulator to listen', timeoutMs: 30_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `127.0.0.1:${port}`, port, stop };
}

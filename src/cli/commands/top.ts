/**
 * `openhqm top --url …`: the queue table of a running gateway (GET /api/v1/queues, admin),
 * live in a terminal like `celery events`, redrawn in place every --interval seconds.
 *
 * - On a terminal: the alternate screen, redrawn from the top each poll (no flicker, no
 *   scrollback spam), left as it was on q, Ctrl-C or SIGTERM.
 * - Piped, or with --json: one frame (a table, or the API's JSON on one line) per poll, so
 *   `openhqm top --json | jq` follows the queues too.
 * - --once: one table (or JSON document) and exit, with the exit codes of remote/exit-codes.ts.
 *
 * While live, a server that does not answer (or answers 5xx) is shown and asked again next
 * poll — a restart should not end the view — but a refusal (a missing or non-admin credential)
 * ends it at once: asking again would not change the answer.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { RemoteError, type RemoteApi } from '../remote/client.js';
import { EXIT } from '../remote/exit-codes.js';
import { addRemoteFlags, failRemote, remoteFrom, usage, type RemoteFlags } from '../remote/flags.js';
import { asQueuesAnswer, queuesTable, type QueuesAnswer } from '../remote/queues-view.js';
import { Screen } from '../remote/screen.js';

interface TopFlags extends RemoteFlags {
  readonly once?: boolean;
  readonly interval: string;
}

export function registerTopCommand(program: Command): void {
  addRemoteFlags(
    program
      .command('top')
      .description('the queues of a running gateway, live: depth, delayed, in flight, dead letters, oldest wait, done and failed per minute (GET /api/v1/queues; an admin credential)')
      .option('--once', 'print the table once and exit')
      .option('--interval <seconds>', 'seconds between polls', '2'),
  ).action(async (flags: TopFlags, command: Command) => {
    const api = remoteFrom(flags, command);
    const interval = Number(flags.interval);
    if (!(interval >= 0.1 && interval <= 3600)) usage(`--interval ${JSON.stringify(flags.interval)}: expected seconds from 0.1 to 3600`);
    if (flags.once === true) {
      try {
        const answer = await poll(api);
        process.stdout.write(flags.json === true ? `${JSON.stringify(answer)}\n` : `${queuesTable(answer).join('\n')}\n`);
      } catch (error) {
        failRemote(error, flags.json);
      }
      return;
    }
    await live(api, flags, interval * 1000);
  });
}

async function poll(api: RemoteApi): Promise<QueuesAnswer> {
  const body = await api.expectOk('GET', '/api/v1/queues');
  const answer = asQueuesAnswer(body);
  if (answer === undefined) throw new RemoteError('invalid', `${api.url('/api/v1/queues')} answered JSON that is not a queue list: is --url an OpenHQM API?`);
  return answer;
}

async function live(api: RemoteApi, flags: TopFlags, intervalMs: number): Promise<void> {
  const stop = new AbortController();
  const quit = (): void => stop.abort();
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  const screen = flags.json !== true && process.stdout.isTTY ? new Screen(process.stdout, process.stdin, quit) : undefined;
  const heading = (): string => `openhqm top  ${api.url('')}  ${new Date().toTimeString().slice(0, 8)}  every ${intervalMs / 1000}s${screen === undefined ? '' : '  (q to quit)'}`;
  let last: QueuesAnswer | undefined;
  try {
    while (!stop.signal.aborted) {
      let failure: RemoteError | undefined;
      try {
        last = await poll(api);
      } catch (error) {
        if (!(error instanceof RemoteError) || error.kind === 'refused') throw error;
        failure = error;
      }
      if (screen !== undefined) {
        // The last table stays up while the server is away, marked as stale.
        const status = failure === undefined ? [] : ['', `last poll failed: ${failure.message} (showing the previous answer; retrying)`];
        screen.draw([heading(), '', ...(last === undefined ? ['(no answer yet)'] : queuesTable(last)), ...status]);
      } else if (failure !== undefined) {
        process.stderr.write(`openhqm: ${failure.message} (retrying)\n`);
      } else if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(last)}\n`);
      } else if (last !== undefined) {
        process.stdout.write(`${[heading(), ...queuesTable(last), ''].join('\n')}\n`);
      }
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } catch (error) {
    screen?.close();
    failRemote(error, flags.json);
  } finally {
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
  }
  screen?.close();
  process.exitCode = EXIT.ok;
}

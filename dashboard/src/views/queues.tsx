/** The queue table, live over Server-Sent Events, with a trend line per queue. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type QueueTable } from '../api.js';
import { formatAge, formatCount, formatPerMinute, formatRelative } from '../format.js';
import { addSnapshot, type QueueHistory } from '../history.js';
import { openStream, type LiveState } from '../live.js';
import { routeHash } from '../route.js';
import { asApiError, Problem, Section, Sparkline, useNow } from './common.js';

interface Unavailable {
  readonly code: string;
  readonly detail: string;
}

/** How often the table is read when the stream is refused (past api.max_streams, or a proxy that buffers streams). */
const POLL_MS = 5000;

type FeedState = LiveState | 'polling';

const STATE_LABELS: Readonly<Record<FeedState, string>> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', closed: 'not live', polling: `read every ${POLL_MS / 1000} s` };

export function QueuesView({ api, epoch }: { api: Api; epoch: number }) {
  const [table, setTable] = useState<QueueTable | null>(null);
  const [history, setHistory] = useState<QueueHistory>(new Map());
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [state, setState] = useState<FeedState>('connecting');
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [unavailable, setUnavailable] = useState<Unavailable | null>(null);
  const now = useNow();

  useEffect(() => {
    let done = false;
    let close = (): void => undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    setProblem(null);
    setTable(null);
    setHistory(new Map());
    const apply = (next: QueueTable): void => {
      const at = Date.now();
      setTable(next);
      setUpdatedAt(at);
      setUnavailable(null);
      setHistory((h) => addSnapshot(h, next, at));
    };
    // A plain read first: it answers at once, and a refused credential reads as what it is.
    api.get<QueueTable>('api/v1/queues').then(
      (first) => {
        if (done) return;
        apply(first);
        close = openStream(
          api,
          'api/v1/queues',
          { types: ['queues', 'unavailable'] },
          {
            onEvent: (type, data) => (type === 'queues' ? apply(data as QueueTable) : setUnavailable(data as Unavailable)),
            onState: setState,
            onRefused: (error) => {
              if (error.refused) return setProblem(error);
              // No stream to be had (503 past api.max_streams, say): the plain table, read now and then.
              setState('polling');
              poll = setInterval(() => {
                api.get<QueueTable>('api/v1/queues').then(
                  (next) => !done && apply(next),
                  (failure: unknown) => !done && setProblem(asApiError(failure)),
                );
              }, POLL_MS);
            },
          },
        );
      },
      (error: unknown) => {
        if (!done) setProblem(asApiError(error));
      },
    );
    return () => {
      done = true;
      close();
      clearInterval(poll);
    };
  }, [api, epoch]);

  if (problem !== null && table === null) return <Problem error={problem} what="reading the queues" />;
  const totals = table === null ? null : totalsOf(table);
  return (
    <div class="view">
      {problem === null ? null : <Problem error={problem} what="following the queues" />}
      {unavailable === null ? null : <Problem error={new ApiError(503, unavailable.code, unavailable.detail)} what="reading the queues (the last table is shown)" />}
      {totals === null ? null : (
        <div class="cards">
          <Card label="Waiting" value={formatCount(totals.depth)} />
          <Card label="In flight" value={formatCount(totals.inFlight)} />
          <Card label="Completed / min" value={formatCount(totals.completed)} tone="ok" />
          <Card label="Failed / min" value={formatCount(totals.failed)} tone={totals.failed > 0 ? 'error' : undefined} />
          <Card label="Dead letters" value={formatCount(totals.deadLetters)} tone={totals.deadLetters > 0 ? 'warn' : undefined} />
        </div>
      )}
      <Section
        title="Queues"
        actions={
          <span class={`live live-${state}`} data-testid="live-state">
            <span class="dot" aria-hidden="true" />
            {STATE_LABELS[state]}
            {updatedAt === null ? '' : ` · updated ${formatRelative(new Date(updatedAt).toISOString(), now)}`}
          </span>
        }
      >
        {table === null ? (
          <p class="muted">Loading…</p>
        ) : (
          <>
            <table class="grid queues" data-testid="queues-table">
              <thead>
                <tr>
                  <th>Queue</th>
                  <th class="num">Depth</th>
                  <th class="num">Delayed</th>
                  <th class="num">In flight</th>
                  <th class="num">Oldest waiting</th>
                  <th class="num">Completed</th>
                  <th class="num">Failed</th>
                  <th class="num">Dead letters</th>
                  <th>Depth, last minutes</th>
                </tr>
              </thead>
              <tbody>
                {table.queues.map((q) => (
                  <tr key={q.name} data-queue={q.name}>
                    <td data-label="Queue">
                      <div>
                        <a href={routeHash({ view: 'requests', params: new URLSearchParams({ queue: q.name }) })}>{q.name}</a>
                        <div class="muted small" title="the backend's queue, its weight and concurrency cap">
                          {q.backend_queue} · weight {q.weight}
                          {q.concurrency === null ? '' : ` · at most ${q.concurrency} at once`}
                        </div>
                      </div>
                    </td>
                    <td class="num" data-label="Depth">{formatCount(q.depth)}</td>
                    <td class="num" data-label="Delayed">{formatCount(q.delayed)}</td>
                    <td class="num" data-label="In flight">{formatCount(q.in_flight)}</td>
                    <td class={q.oldest_waiting_seconds !== null && q.oldest_waiting_seconds > 60 ? 'num warn' : 'num'} data-label="Oldest waiting">
                      {formatAge(q.oldest_waiting_seconds)}
                    </td>
                    <td class="num ok" data-label="Completed">{formatPerMinute(q.completed_last_minute)}</td>
                    <td class={q.failed_last_minute > 0 ? 'num error' : 'num'} data-label="Failed">{formatPerMinute(q.failed_last_minute)}</td>
                    <td class="num" data-label="Dead letters">
                      <a class={q.dead_letters > 0 ? 'warn' : ''} href={routeHash({ view: 'dead-letters', params: new URLSearchParams({ queue: q.name }) })}>
                        {formatCount(q.dead_letters)}
                      </a>
                    </td>
                    <td data-label="Trend">
                      <Sparkline values={(history.get(q.name) ?? []).map((s) => s.depth)} label={`depth of ${q.name} over the last minutes`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted small">
              Completed and failed: the last {table.window.seconds} s, counted by{' '}
              {table.window.scope === 'deployment' ? 'every process sharing the result store' : 'this API process only (the store is not shared)'}.
            </p>
          </>
        )}
      </Section>
    </div>
  );
}

function Card({ label, value, tone }: { label: string; value: string; tone?: 'ok' | 'warn' | 'error' | undefined }) {
  return (
    <div class={tone === undefined ? 'card' : `card ${tone}`}>
      <div class="card-value">{value}</div>
      <div class="card-label">{label}</div>
    </div>
  );
}

function totalsOf(table: QueueTable) {
  const sum = (pick: (q: QueueTable['queues'][number]) => number): number => table.queues.reduce((n, q) => n + pick(q), 0);
  return {
    depth: sum((q) => q.depth),
    inFlight: sum((q) => q.in_flight),
    completed: sum((q) => q.completed_last_minute),
    failed: sum((q) => q.failed_last_minute),
    deadLetters: sum((q) => q.dead_letters),
  };
}

/** Dead letters of a queue: why each failed, and replay (as it was, or edited) or purge. */
import { useEffect, useState } from 'preact/hooks';
import type { Api, ApiError, DeadLetter, DeadLetterDetail, DeadLetterPage } from '../api.js';
import { formatRelative, formatTime, shortId } from '../format.js';
import { parseObjects } from '../json-fields.js';
import { routeHash } from '../route.js';
import { asApiError, ConfirmButton, Problem, Section, StatusBadge, useNow } from './common.js';

const PAGE = 25;

type Done = { readonly kind: 'replayed'; readonly id: string; readonly correlationId: string } | { readonly kind: 'purged'; readonly id: string };

export function DeadLettersView({ api, epoch, params, queueNames }: { api: Api; epoch: number; params: URLSearchParams; queueNames: readonly string[] }) {
  const queue = params.get('queue') ?? 'default';
  const [page, setPage] = useState<DeadLetterPage | null>(null);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [reload, setReload] = useState(0);
  const now = useNow(5000);

  useEffect(() => setCursor(undefined), [queue]);
  useEffect(() => {
    let stale = false;
    const query = new URLSearchParams({ queue, limit: String(PAGE) });
    if (cursor !== undefined) query.set('cursor', cursor);
    api.get<DeadLetterPage>('api/v1/dead-letters', query).then(
      (next) => {
        if (stale) return;
        setPage(next);
        setProblem(null);
      },
      (error: unknown) => {
        if (!stale) setProblem(asApiError(error));
      },
    );
    return () => {
      stale = true;
    };
  }, [api, epoch, queue, cursor, reload]);

  const finished = (outcome: Done): void => {
    setEditing(null);
    setDone(outcome);
    setReload((n) => n + 1);
  };
  const purge = (letter: DeadLetter): void => {
    setProblem(null);
    api.send('DELETE', `api/v1/dead-letters/${encodeURIComponent(letter.id)}`).then(
      () => finished({ kind: 'purged', id: letter.id }),
      (error: unknown) => setProblem(asApiError(error)),
    );
  };
  const replay = (letter: DeadLetter, body?: Record<string, unknown>): Promise<void> =>
    api.send<{ correlation_id: string }>('POST', `api/v1/dead-letters/${encodeURIComponent(letter.id)}/replay`, body ?? {}).then((accepted) =>
      finished({ kind: 'replayed', id: letter.id, correlationId: accepted.correlation_id }),
    );

  const names = queueNames.includes(queue) ? queueNames : [queue, ...queueNames];
  return (
    <div class="view">
      {done === null ? null : (
        <div class="notice" role="status" data-testid="dead-letter-notice">
          {done.kind === 'replayed' ? (
            <>
              Replayed {done.id}: the request{' '}
              <a class="mono" href={routeHash({ view: 'request', id: done.correlationId })}>
                {done.correlationId}
              </a>{' '}
              is PENDING again.
            </>
          ) : (
            <>Purged {done.id}.</>
          )}
        </div>
      )}
      {problem === null ? null : <Problem error={problem} what="working on the dead letters" />}
      <Section
        title="Dead letters"
        actions={
          <label class="inline">
            Queue{' '}
            <select value={queue} onChange={(event) => (location.hash = routeHash({ view: 'dead-letters', params: new URLSearchParams({ queue: (event.currentTarget).value }) }))}>
              {names.map((q) => (
                <option key={q} value={q}>
                  {q}
                </option>
              ))}
            </select>
          </label>
        }
      >
        {page === null ? (
          <p class="muted">{problem === null ? 'Loading…' : ''}</p>
        ) : page.dead_letters.length === 0 ? (
          <p class="muted">No dead letters in {page.queue}.</p>
        ) : (
          <ul class="letters" data-testid="dead-letters">
            {page.dead_letters.map((letter) => (
              <li key={letter.id} class="letter" data-correlation-id={letter.correlation_id ?? ''}>
                <div class="letter-head">
                  <span class="mono" title={letter.id}>
                    {shortId(letter.id)}
                  </span>
                  <StatusBadge status={letter.status} />
                  <span class="muted small" title={letter.dead_lettered_at}>
                    dead-lettered {formatRelative(letter.dead_lettered_at, now)} ({formatTime(letter.dead_lettered_at)})
                  </span>
                </div>
                <div class="letter-why">
                  <strong>{letter.reason}</strong>
                  {letter.error_code === null ? null : <code>{letter.error_code}</code>}
                  <span class="muted small">
                    {letter.attempts} attempt{letter.attempts === 1 ? '' : 's'}
                    {letter.status_code === null ? '' : ` · upstream HTTP ${letter.status_code}`}
                  </span>
                </div>
                {letter.attempt_errors.length === 0 ? null : (
                  <ol class="attempt-errors">
                    {letter.attempt_errors.map((e) => (
                      <li key={e.attempt}>
                        attempt {e.attempt}: {e.error}
                      </li>
                    ))}
                  </ol>
                )}
                <div class="letter-actions">
                  {letter.correlation_id === null ? null : (
                    <a class="button" href={routeHash({ view: 'request', id: letter.correlation_id })}>
                      Open request
                    </a>
                  )}
                  <button type="button" class="primary" onClick={() => void replay(letter).catch((error: unknown) => setProblem(asApiError(error)))}>
                    Replay
                  </button>
                  <button type="button" onClick={() => setEditing(editing === letter.id ? null : letter.id)}>
                    {editing === letter.id ? 'Close editor' : 'Edit & replay'}
                  </button>
                  <ConfirmButton label="Purge" confirm="Really purge?" onConfirm={() => purge(letter)} />
                </div>
                {editing === letter.id ? <ReplayEditor api={api} letter={letter} onReplay={(body) => replay(letter, body)} /> : null}
              </li>
            ))}
          </ul>
        )}
        <div class="pager">
          <button type="button" disabled={cursor === undefined} onClick={() => setCursor(undefined)}>
            ← Newest
          </button>
          <button type="button" disabled={page?.next_cursor == null} onClick={() => setCursor(page?.next_cursor ?? undefined)}>
            Older →
          </button>
        </div>
      </Section>
    </div>
  );
}

/** The request a dead letter carries, editable: payload and metadata replace the request's; headers are kept. */
function ReplayEditor({ api, letter, onReplay }: { api: Api; letter: DeadLetter; onReplay: (body: Record<string, unknown>) => Promise<void> }) {
  const [detail, setDetail] = useState<DeadLetterDetail | null>(null);
  const [payload, setPayload] = useState('');
  const [metadata, setMetadata] = useState('');
  const [problem, setProblem] = useState<ApiError | string | null>(null);

  useEffect(() => {
    api.get<DeadLetterDetail>(`api/v1/dead-letters/${encodeURIComponent(letter.id)}`).then(
      (found) => {
        setDetail(found);
        setPayload(JSON.stringify(found.payload ?? {}, null, 2));
        setMetadata(JSON.stringify(found.metadata ?? {}, null, 2));
      },
      (error: unknown) => setProblem(asApiError(error)),
    );
  }, [api, letter.id]);

  const submit = (event: Event): void => {
    event.preventDefault();
    const parsed = parseObjects({ payload, metadata });
    if (typeof parsed === 'string') return setProblem(parsed);
    setProblem(null);
    onReplay(parsed).catch((error: unknown) => setProblem(asApiError(error)));
  };
  if (detail === null) return problem === null ? <p class="muted">Loading the request…</p> : <EditorProblem problem={problem} />;
  return (
    <form class="editor" onSubmit={submit} data-testid="replay-editor">
      <label>
        Payload
        <textarea rows={8} spellcheck={false} value={payload} onInput={(event) => setPayload((event.currentTarget).value)} />
      </label>
      <label>
        Metadata
        <textarea rows={5} spellcheck={false} value={metadata} onInput={(event) => setMetadata((event.currentTarget).value)} />
      </label>
      <p class="muted small">
        {detail.header_names.length === 0 ? 'The request has no headers.' : `Its headers (${detail.header_names.join(', ')}) are kept as they were; their values are not shown.`} The replay is checked as a
        submit is.
      </p>
      {problem === null ? null : <EditorProblem problem={problem} />}
      <button type="submit" class="primary">
        Replay edited
      </button>
    </form>
  );
}

function EditorProblem({ problem }: { problem: ApiError | string }) {
  return typeof problem === 'string' ? (
    <p class="form-problem" role="alert">
      {problem}
    </p>
  ) : (
    <Problem error={problem} what="replaying" />
  );
}

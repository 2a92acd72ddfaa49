/** Request search: by id, status, queue and submission time, newest first, refreshed while live. */
import { useEffect, useState } from 'preact/hooks';
import { STATUSES, type Api, type ApiError, type RequestPage } from '../api.js';
import { formatRelative, formatTime } from '../format.js';
import { routeHash } from '../route.js';
import { formToParams, isCorrelationId, paramsToForm, searchQuery, type SearchForm } from '../search.js';
import { asApiError, Problem, Section, StatusBadge, useNow } from './common.js';

const PAGE = 25;
/** How often the first page is read again while "live" is on. */
const REFRESH_MS = 2000;

export function RequestsView({ api, epoch, params, queueNames }: { api: Api; epoch: number; params: URLSearchParams; queueNames: readonly string[] }) {
  const [form, setForm] = useState<SearchForm>(() => paramsToForm(params));
  const [page, setPage] = useState<RequestPage | null>(null);
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [formProblem, setFormProblem] = useState<string | null>(null);
  // Cursors of the pages before this one: "Newer" goes back one.
  const [cursors, setCursors] = useState<readonly string[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [live, setLive] = useState(true);
  const now = useNow();
  const key = params.toString();

  useEffect(() => {
    setForm(paramsToForm(new URLSearchParams(key)));
    setCursor(undefined);
    setCursors([]);
  }, [key]);

  useEffect(() => {
    const built = searchQuery(paramsToForm(new URLSearchParams(key)), PAGE, cursor);
    if ('problem' in built) {
      setFormProblem(built.problem);
      return undefined;
    }
    let done = false;
    const load = (): void => {
      api.get<RequestPage>('api/v1/requests', built.query).then(
        (next) => {
          if (done) return;
          setPage(next);
          setProblem(null);
        },
        (error: unknown) => {
          if (!done) setProblem(asApiError(error));
        },
      );
    };
    load();
    // Only the first page moves (new requests land on top); older pages are left as they were read.
    const timer = live && cursor === undefined ? setInterval(load, REFRESH_MS) : undefined;
    return () => {
      done = true;
      clearInterval(timer);
    };
  }, [api, epoch, key, cursor, live]);

  const search = (event: Event): void => {
    event.preventDefault();
    setFormProblem(null);
    if (form.id.trim() !== '') {
      if (!isCorrelationId(form.id)) return setFormProblem('an id is a UUID, such as 0193f1c2-7b1e-7cc0-9a4e-2f1d3c4b5a69');
      location.hash = routeHash({ view: 'request', id: form.id.trim().toLowerCase() });
      return;
    }
    const built = searchQuery(form, PAGE);
    if ('problem' in built) return setFormProblem(built.problem);
    location.hash = routeHash({ view: 'requests', params: formToParams(form) });
  };
  const field = (name: keyof SearchForm) => ({
    value: form[name],
    onInput: (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value }),
  });

  return (
    <div class="view">
      <Section title="Find requests">
        <form class="search" onSubmit={search}>
          <label>
            Correlation id
            <input type="search" placeholder="any id: opens that request" autocomplete="off" spellcheck={false} {...field('id')} />
          </label>
          <label>
            Status
            <select {...field('status')}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Queue
            <input type="text" list="queue-names" placeholder="any" autocomplete="off" {...field('queue')} />
            <datalist id="queue-names">
              {queueNames.map((q) => (
                <option key={q} value={q} />
              ))}
            </datalist>
          </label>
          <label>
            Submitted since
            <input type="datetime-local" {...field('since')} />
          </label>
          <label>
            until
            <input type="datetime-local" {...field('until')} />
          </label>
          <div class="search-actions">
            <button type="submit" class="primary">
              Search
            </button>
            <button type="button" onClick={() => (location.hash = routeHash({ view: 'requests' }))}>
              Clear
            </button>
          </div>
        </form>
        {formProblem === null ? null : (
          <p class="form-problem" role="alert">
            {formProblem}
          </p>
        )}
      </Section>
      {problem === null ? null : <Problem error={problem} what="searching the requests" />}
      <Section
        title="Requests"
        actions={
          <label class="toggle">
            <input type="checkbox" checked={live} onChange={(event) => setLive((event.currentTarget).checked)} /> live
          </label>
        }
      >
        {page === null ? (
          <p class="muted">{problem === null ? 'Loading…' : ''}</p>
        ) : page.requests.length === 0 ? (
          <p class="muted">No request matches{cursor === undefined ? '' : ' on this page'}.</p>
        ) : (
          <table class="grid" data-testid="requests-table">
            <thead>
              <tr>
                <th>Correlation id</th>
                <th>Status</th>
                <th>Submitted</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {page.requests.map((r) => (
                <tr key={r.correlation_id} data-id={r.correlation_id}>
                  <td data-label="Id">
                    <a class="mono" href={routeHash({ view: 'request', id: r.correlation_id })}>
                      {r.correlation_id}
                    </a>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={r.status} />
                    {r.progress === null || r.status !== 'PROCESSING' ? null : <span class="muted small"> {r.progress}%</span>}
                  </td>
                  <td data-label="Submitted" title={r.submitted_at}>
                    {formatTime(r.submitted_at)}
                  </td>
                  <td data-label="Updated" title={r.updated_at}>
                    {formatRelative(r.updated_at, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div class="pager">
          <button
            type="button"
            disabled={cursor === undefined}
            onClick={() => {
              const before = cursors.slice(0, -1);
              setCursor(cursors.length <= 1 ? undefined : cursors[cursors.length - 2]);
              setCursors(before);
            }}
          >
            ← Newer
          </button>
          <button
            type="button"
            disabled={page?.next_cursor == null}
            onClick={() => {
              const next = page?.next_cursor;
              if (next == null) return;
              setCursors([...cursors, next]);
              setCursor(next);
            }}
          >
            Older →
          </button>
        </div>
      </Section>
    </div>
  );
}

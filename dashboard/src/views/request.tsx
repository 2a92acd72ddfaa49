/** One request: its status and result, and its audit trail as a timeline, followed live until it ends. */
import { useEffect, useState } from 'preact/hooks';
import { TERMINAL, type Api, type ApiError, type RequestResource, type TrailEvent } from '../api.js';
import { formatDuration, formatTime } from '../format.js';
import { openStream, type LiveState } from '../live.js';
import { routeHash } from '../route.js';
import { buildTimeline, summarize } from '../timeline.js';
import { asApiError, ConfirmButton, Json, Problem, Section, StatusBadge } from './common.js';

/** A trail entry as the stream sends it: the JSON trail's fields plus its id and position. */
type StreamedEvent = TrailEvent & { readonly seq: number; readonly correlation_id: string };

export function RequestView({ api, epoch, id }: { api: Api; epoch: number; id: string }) {
  const [record, setRecord] = useState<RequestResource | null>(null);
  const [events, setEvents] = useState<readonly TrailEvent[]>([]);
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [actionProblem, setActionProblem] = useState<ApiError | null>(null);
  const [state, setState] = useState<LiveState>('closed');

  useEffect(() => {
    let done = false;
    let close = (): void => undefined;
    setRecord(null);
    setEvents([]);
    setProblem(null);
    Promise.all([api.request(id), api.get<{ events: TrailEvent[] }>(`api/v1/requests/${encodeURIComponent(id)}/events`)]).then(
      ([found, trail]) => {
        if (done) return;
        setRecord(found);
        setEvents(trail.events);
        if (TERMINAL.has(found.status)) return;
        // Live until it ends: the stream resumes after the entries already shown.
        close = openStream(
          api,
          `api/v1/requests/${encodeURIComponent(id)}/events`,
          { types: ['status', 'note', 'progress', 'result'], lastEventId: String(trail.events.length) },
          {
            onEvent: (type, data) => {
              if (type === 'status' || type === 'note') {
                const { seq, correlation_id: _id, ...event } = data as StreamedEvent;
                // The position in the trail: an entry already shown (a reconnect's overlap) is skipped.
                setEvents((shown) => (seq <= shown.length ? shown : [...shown, event]));
              } else if (type === 'progress') {
                const { progress } = data as { progress: number };
                setRecord((r) => (r === null ? r : { ...r, progress }));
              } else if (type === 'result') {
                setRecord((r) => (r === null ? r : { ...r, ...(data as Partial<RequestResource>) }));
              }
            },
            onState: setState,
            onRefused: setProblem,
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
    };
  }, [api, epoch, id]);

  if (record === null) {
    return <div class="view">{problem === null ? <p class="muted">Loading…</p> : <Problem error={problem} what={`reading request ${id}`} />}</div>;
  }
  const summary = summarize(events);
  const finished = TERMINAL.has(record.status);
  const cancel = (): void => {
    setActionProblem(null);
    api.send<RequestResource>('DELETE', `api/v1/requests/${encodeURIComponent(id)}`).then(
      (cancelled) => setRecord({ ...record, ...cancelled }),
      (error: unknown) => setActionProblem(asApiError(error)),
    );
  };
  return (
    <div class="view">
      <p>
        <a href={routeHash({ view: 'requests' })}>← Requests</a>
      </p>
      {problem === null ? null : <Problem error={problem} what="following the request" />}
      <Section
        title="Request"
        actions={
          <>
            {finished ? null : <span class={`live live-${state}`}>{state === 'live' ? 'following live' : state}</span>}
            {finished ? null : <ConfirmButton label="Cancel request" confirm="Really cancel?" onConfirm={cancel} />}
          </>
        }
      >
        {actionProblem === null ? null : <Problem error={actionProblem} what="cancelling" />}
        <dl class="facts" data-testid="request-facts">
          <dt>Correlation id</dt>
          <dd class="mono">{record.correlation_id}</dd>
          <dt>Status</dt>
          <dd data-testid="request-status">
            <StatusBadge status={record.status} />
            {record.status === 'PROCESSING' && record.progress !== null ? (
              <progress max={100} value={record.progress}>
                {record.progress}%
              </progress>
            ) : null}
          </dd>
          <dt>Submitted</dt>
          <dd>{formatTime(record.submitted_at)}</dd>
          {record.run_at == null ? null : (
            <>
              <dt>Runs at</dt>
              <dd>{formatTime(record.run_at)}</dd>
            </>
          )}
          <dt>Attempts</dt>
          <dd>{summary.attempts}</dd>
          <dt>Waited in the queue</dt>
          <dd>{summary.queueWaitMs === null ? '—' : formatDuration(summary.queueWaitMs)}</dd>
          {record.processing_time_ms === null ? null : (
            <>
              <dt>Processing time</dt>
              <dd>{formatDuration(record.processing_time_ms)}</dd>
            </>
          )}
          {record.next_id === undefined ? null : (
            <>
              <dt>Follow-up</dt>
              <dd>
                <a class="mono" href={routeHash({ view: 'request', id: record.next_id })}>
                  {record.next_id}
                </a>
              </dd>
            </>
          )}
        </dl>
      </Section>
      {finished ? (
        <Section title={record.status === 'COMPLETED' ? 'Result' : 'Error'}>
          {record.status === 'COMPLETED' ? (
            <Json value={record.result} />
          ) : (
            <div class="problem">
              {record.error_code === null ? null : <code>{record.error_code}</code>} {record.error}
              {record.status_code === null ? null : <div class="muted small">upstream answered HTTP {record.status_code}</div>}
            </div>
          )}
          {record.status === 'FAILED' || record.status === 'TIMEOUT' ? (
            <p class="muted small">
              A request that failed for good may be waiting in the <a href={routeHash({ view: 'dead-letters' })}>dead letters</a>, where it can be replayed.
            </p>
          ) : null}
        </Section>
      ) : null}
      <Section title="Timeline">
        <ol class="timeline" data-testid="timeline">
          {buildTimeline(events).map((item, i) => (
            <li key={i} class={`tone-${item.tone}`}>
              <div class="timeline-when" title={item.at}>
                <span>{formatTime(item.at)}</span>
                <span class="muted small">+{formatDuration(item.offsetMs)}</span>
              </div>
              <div class="timeline-what">
                <div class="timeline-title">{item.title}</div>
                {item.detail === null ? null : <div class="timeline-detail">{item.detail}</div>}
                {item.link === null ? null : (
                  <a class="small" href={routeHash({ view: 'request', id: item.link })}>
                    open {item.link}
                  </a>
                )}
              </div>
            </li>
          ))}
        </ol>
      </Section>
    </div>
  );
}

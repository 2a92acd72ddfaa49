/** Pieces every view uses: problems and refusals, status badges, JSON, sparklines, a two-step button. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { sparkline } from '../history.js';

/** Any thrown value as an ApiError (a bug of the page reads as one too, rather than vanishing). */
export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, null, error instanceof Error ? error.message : String(error));
}

const REFUSAL_HINTS: Readonly<Record<number, string>> = {
  401: 'The API needs a credential: enter an admin API key or token above.',
  403: 'The credential was accepted but may not do this: the dashboard needs the admin role.',
};

/** What the server said, as it said it; a refusal (401/403) stands out and says what to do. */
export function Problem({ error, what }: { error: ApiError; what?: string }) {
  const hint = REFUSAL_HINTS[error.status];
  const title = error.refused ? `Refused (${error.status})` : error.status === 0 ? 'No answer' : `Error ${error.status}`;
  return (
    <div class={error.refused ? 'problem refusal' : 'problem'} role="alert">
      <strong>{title}</strong>
      {what === undefined ? null : <span> while {what}</span>}
      <div class="problem-detail">
        {error.code === null ? null : <code>{error.code}</code>} {error.detail}
      </div>
      {hint === undefined ? null : <div class="problem-hint">{hint}</div>}
    </div>
  );
}

export function StatusBadge({ status }: { status: string | null }) {
  if (status === null) return <span class="badge">—</span>;
  return <span class={`badge status-${status.toLowerCase()}`}>{status}</span>;
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const width = 96;
  const height = 24;
  return (
    <svg class="sparkline" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label}>
      <polyline points={sparkline(values, width, height)} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
    </svg>
  );
}

/** A destructive action needs a second click: no modal dialog, nothing to dismiss. */
export function ConfirmButton({ label, confirm, onConfirm, disabled }: { label: string; confirm: string; onConfirm: () => void; disabled?: boolean }) {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return undefined;
    const timer = setTimeout(() => setArmed(false), 5000);
    return () => clearTimeout(timer);
  }, [armed]);
  return (
    <button
      type="button"
      class={armed ? 'danger armed' : 'danger'}
      disabled={disabled}
      onClick={() => {
        if (armed) {
          setArmed(false);
          onConfirm();
        } else setArmed(true);
      }}
    >
      {armed ? confirm : label}
    </button>
  );
}

/** The current time, re-rendered every `ms`, for "5 s ago" labels. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel">
      <header class="panel-header">
        <h2>{title}</h2>
        {actions === undefined ? null : <div class="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

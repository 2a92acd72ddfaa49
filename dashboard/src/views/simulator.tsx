/** The route simulator (POST /api/v1/routes/test): route a message without sending it. */
import { useState } from 'preact/hooks';
import type { Api, ApiError } from '../api.js';
import { parseObjects } from '../json-fields.js';
import { asApiError, Json, Problem, Section } from './common.js';

const EXAMPLE_MESSAGE = {
  correlation_id: '0193f1c2-7b1e-7cc0-9a4e-2f1d3c4b5a69',
  payload: { email: 'ada@example.com' },
  headers: {},
  metadata: { type: 'user.register' },
  request: null,
};

const EXAMPLE_ROUTES = {
  version: '1.0',
  routes: [
    {
      name: 'user-registration',
      match_field: 'metadata.type',
      match_value: 'user.register',
      endpoint: 'http://users.internal/register',
      method: 'POST',
      transform_type: 'jq',
      transform: '{"username": .payload.email | split("@")[0], "email": .payload.email}',
    },
  ],
};

type Outcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ApiError | string };

export function SimulatorView({ api }: { api: Api }) {
  const [message, setMessage] = useState(JSON.stringify(EXAMPLE_MESSAGE, null, 2));
  const [routes, setRoutes] = useState('');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [running, setRunning] = useState(false);

  const run = (event: Event): void => {
    event.preventDefault();
    const body = parseObjects({ message, routes }, ['routes']);
    if (typeof body === 'string') return setOutcome({ ok: false, error: body });
    setRunning(true);
    api
      .send('POST', 'api/v1/routes/test', body)
      .then(
        (result) => setOutcome({ ok: true, result }),
        (error: unknown) => setOutcome({ ok: false, error: asApiError(error) }),
      )
      .finally(() => setRunning(false));
  };

  return (
    <div class="view">
      <Section title="Route simulator">
        <p class="muted small">
          Routes a queue message as a worker would — matching, transform, headers, query — and shows what would be sent, without sending it. Leave the routes empty to use the ones in
          force. Served only where <code>routing.enabled</code> is on.
        </p>
        <form class="editor simulator" onSubmit={run}>
          <label>
            Message (the queue envelope)
            <textarea rows={12} spellcheck={false} value={message} onInput={(event) => setMessage((event.currentTarget).value)} />
          </label>
          <label>
            Routes (optional: a routes file as JSON)
            <textarea rows={12} spellcheck={false} placeholder={JSON.stringify(EXAMPLE_ROUTES, null, 2)} value={routes} onInput={(event) => setRoutes((event.currentTarget).value)} />
          </label>
          <div class="search-actions">
            <button type="submit" class="primary" disabled={running}>
              {running ? 'Routing…' : 'Route it'}
            </button>
            <button type="button" onClick={() => setRoutes(JSON.stringify(EXAMPLE_ROUTES, null, 2))}>
              Example routes
            </button>
          </div>
        </form>
      </Section>
      {outcome === null ? null : outcome.ok ? (
        <Section title="Routing result">
          <Json value={outcome.result} />
        </Section>
      ) : typeof outcome.error === 'string' ? (
        <p class="form-problem" role="alert">
          {outcome.error}
        </p>
      ) : outcome.error.status === 404 ? (
        <Problem error={outcome.error} what="routing: this deployment serves no route simulator (routing.enabled is off)" />
      ) : (
        <Problem error={outcome.error} what="routing the message" />
      )}
    </div>
  );
}

/** The page: header (views, credential, theme) and the view the URL's fragment names. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, type QueueTable } from './api.js';
import type { CredentialStore } from './credential.js';
import { parseRoute, routeHash, type View } from './route.js';
import { otherTheme, rememberTheme, type Theme } from './theme.js';
import { DeadLettersView } from './views/dead-letters.js';
import { QueuesView } from './views/queues.js';
import { RequestView } from './views/request.js';
import { RequestsView } from './views/requests.js';
import { SimulatorView } from './views/simulator.js';

const NAV: ReadonlyArray<{ view: View; label: string }> = [
  { view: 'queues', label: 'Queues' },
  { view: 'requests', label: 'Requests' },
  { view: 'dead-letters', label: 'Dead letters' },
  { view: 'simulator', label: 'Simulator' },
];

export interface AppProps {
  /** Where the API paths resolve from: the page's parent (`…/dashboard/` → `…/`). */
  readonly base: URL;
  readonly credential: CredentialStore;
  readonly theme: Theme;
  readonly storage: Storage;
}

export function App({ base, credential, theme: initial, storage }: AppProps) {
  const [hash, setHash] = useState(location.hash);
  const [theme, setTheme] = useState(initial);
  // Bumped whenever the credential changes: every view reads again with the new one.
  const [epoch, setEpoch] = useState(0);
  const [queueNames, setQueueNames] = useState<readonly string[]>([]);
  const api = useMemo(() => createApi(base, () => credential.get()), [base, credential]);

  useEffect(() => {
    const onHash = (): void => setHash(location.hash);
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => credential.onChange(() => setEpoch((n) => n + 1)), [credential]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  // The queue names for the search and dead-letter pickers (admins only; others type a name).
  useEffect(() => {
    api.get<QueueTable>('api/v1/queues').then(
      (table) => setQueueNames(table.queues.map((q) => q.name)),
      () => setQueueNames([]),
    );
  }, [api, epoch]);

  const route = parseRoute(hash);
  const active = route.view === 'request' ? 'requests' : route.view;
  return (
    <>
      <header class="top">
        <a class="brand" href={routeHash({ view: 'queues' })}>
          OpenHQM
        </a>
        <nav aria-label="views">
          {NAV.map((item) => (
            <a key={item.view} href={routeHash({ view: item.view })} class={item.view === active ? 'active' : ''} aria-current={item.view === active ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <div class="top-tools">
          <CredentialBar credential={credential} epoch={epoch} />
          <button
            type="button"
            class="theme-toggle"
            aria-label={`switch to the ${otherTheme(theme)} theme`}
            title={`switch to the ${otherTheme(theme)} theme`}
            onClick={() => {
              const next = otherTheme(theme);
              rememberTheme(storage, next);
              setTheme(next);
            }}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      <main>
        {route.view === 'queues' ? <QueuesView api={api} epoch={epoch} /> : null}
        {route.view === 'requests' ? <RequestsView api={api} epoch={epoch} params={route.params} queueNames={queueNames} /> : null}
        {route.view === 'request' ? <RequestView api={api} epoch={epoch} id={route.id ?? ''} /> : null}
        {route.view === 'dead-letters' ? <DeadLettersView api={api} epoch={epoch} params={route.params} queueNames={queueNames} /> : null}
        {route.view === 'simulator' ? <SimulatorView api={api} /> : null}
      </main>
    </>
  );
}

/** Type or paste a key or token; it lives in this tab's sessionStorage only. */
function CredentialBar({ credential, epoch }: { credential: CredentialStore; epoch: number }) {
  const [draft, setDraft] = useState('');
  const held = credential.get() !== null;
  void epoch; // re-rendered when the credential changes
  if (held) {
    return (
      <div class="credential">
        <span class="muted small" data-testid="credential-state">
          key set for this tab
        </span>
        <button type="button" onClick={() => credential.clear()}>
          Forget key
        </button>
      </div>
    );
  }
  return (
    <form
      class="credential"
      onSubmit={(event) => {
        event.preventDefault();
        credential.set(draft);
        setDraft('');
      }}
    >
      <input
        type="password"
        name="credential"
        aria-label="API key or token"
        placeholder="API key or token"
        autocomplete="off"
        value={draft}
        onInput={(event) => setDraft((event.currentTarget).value)}
      />
      <button type="submit">Use key</button>
    </form>
  );
}

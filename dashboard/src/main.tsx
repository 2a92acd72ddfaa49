/**
 * The admin dashboard's entry: it reads the saved theme and credential and renders the app.
 * The API is reached relative to this page (`…/dashboard/` → `…/api/v1/…`), so it follows any
 * control prefix without being told.
 *
 * @module
 */
import { render } from 'preact';
import { App } from './app.js';
import { CredentialStore } from './credential.js';
import { initialTheme } from './theme.js';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) {
  const theme = initialTheme(localStorage, matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = theme;
  render(<App base={new URL('../', location.href)} credential={new CredentialStore(sessionStorage)} theme={theme} storage={localStorage} />, root);
}

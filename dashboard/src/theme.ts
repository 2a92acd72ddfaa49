/**
 * Light or dark: the system's preference (prefers-color-scheme) until the operator picks one
 * with the toggle, which is remembered in localStorage (a preference, not a secret). Applied as
 * `data-theme` on <html>, which the stylesheet's custom properties follow.
 *
 * @module
 */
import type { KeyValueStore } from './credential.js';

export type Theme = 'light' | 'dark';

const KEY = 'openhqm.dashboard.theme';

/** The stored choice if there is one, else the system's. */
export function initialTheme(storage: KeyValueStore, systemPrefersDark: boolean): Theme {
  const stored = storage.getItem(KEY);
  if (stored === 'light' || stored === 'dark') return stored;
  return systemPrefersDark ? 'dark' : 'light';
}

export function otherTheme(theme: Theme): Theme {
  return theme === 'dark' ? 'light' : 'dark';
}

export function rememberTheme(storage: KeyValueStore, theme: Theme): void {
  storage.setItem(KEY, theme);
}

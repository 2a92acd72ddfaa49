import { describe, expect, it } from 'vitest';
import { CredentialStore, type KeyValueStore } from './credential.js';
import { initialTheme, otherTheme, rememberTheme } from './theme.js';

function memoryStorage(): KeyValueStore & { readonly data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe('CredentialStore', () => {
  it('keeps a trimmed key, tells listeners, and forgets it when cleared or blank', () => {
    const storage = memoryStorage();
    const store = new CredentialStore(storage);
    let changes = 0;
    const stop = store.onChange(() => (changes += 1));
    expect(store.get()).toBeNull();
    store.set('  key-123 \n');
    expect(store.get()).toBe('key-123');
    store.set('   ');
    expect(store.get()).toBeNull();
    expect(storage.data.size).toBe(0);
    store.set('again');
    store.clear();
    stop();
    store.set('unheard');
    expect(changes).toBe(4);
  });
});

describe('theme', () => {
  it('follows the system until a choice is remembered', () => {
    const storage = memoryStorage();
    expect(initialTheme(storage, true)).toBe('dark');
    expect(initialTheme(storage, false)).toBe('light');
    rememberTheme(storage, otherTheme('dark'));
    expect(initialTheme(storage, true)).toBe('light');
    storage.setItem('openhqm.dashboard.theme', 'purple');
    expect(initialTheme(storage, false)).toBe('light');
  });
});

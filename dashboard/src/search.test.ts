import { describe, expect, it } from 'vitest';
import { EMPTY_SEARCH, formToParams, isCorrelationId, isoToLocal, localToIso, paramsToForm, searchQuery } from './search.js';

describe('search', () => {
  it('recognises a correlation id in any case, with spaces around', () => {
    expect(isCorrelationId(' 0193F1C2-7b1e-7cc0-9a4e-2f1d3c4b5a69 ')).toBe(true);
    expect(isCorrelationId('0193f1c2')).toBe(false);
  });

  it('sends local times as instants with the filters and the page', () => {
    const since = '2026-11-22T10:00';
    const built = searchQuery({ ...EMPTY_SEARCH, status: 'FAILED', queue: 'high', since }, 25, 'abc');
    expect('query' in built && Object.fromEntries(built.query)).toEqual({ status: 'FAILED', queue: 'high', since: new Date(since).toISOString(), limit: '25', cursor: 'abc' });
    expect(isoToLocal(localToIso(since)!)).toBe(since);
  });

  it('refuses a window that ends before it starts, or a time that is none', () => {
    expect(searchQuery({ ...EMPTY_SEARCH, since: '2026-11-22T10:00', until: '2026-11-22T09:00' }, 25)).toEqual({ problem: '“until” is before “since”' });
    expect(searchQuery({ ...EMPTY_SEARCH, until: 'yesterday' }, 25)).toEqual({ problem: '“until” is not a time' });
    expect(localToIso('')).toBeUndefined();
    expect(isoToLocal('nope')).toBe('');
  });

  it('keeps the filters (not the id) in the URL fragment and reads them back', () => {
    const form = { id: 'x', status: 'PENDING', queue: '', since: '2026-11-22T10:00', until: '' };
    const params = formToParams(form);
    expect(params.toString()).toBe('status=PENDING&since=2026-11-22T10%3A00');
    expect(paramsToForm(params)).toEqual({ ...form, id: '' });
  });
});

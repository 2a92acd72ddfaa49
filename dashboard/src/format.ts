/** How numbers, ages and times read on the page. Pure: unit-tested in format.test.ts. */

const counts = new Intl.NumberFormat('en');

/** 12,345. */
export function formatCount(n: number): string {
  return counts.format(n);
}

/**
 * A duration at the precision a person reads: "850 ms", "4.2 s", "3 m 20 s", "2 h 5 m",
 * "3 d 4 h". Negative durations (clocks that disagree) read as 0.
 */
export function formatDuration(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 1000) return `${Math.round(t)} ms`;
  if (t < 10_000) return `${(Math.floor(t / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(t / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return pair(m, 'm', s % 60, 's');
  const h = Math.floor(m / 60);
  if (h < 24) return pair(h, 'h', m % 60, 'm');
  return pair(Math.floor(h / 24), 'd', h % 24, 'h');
}

function pair(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}

/** The age of a queue's oldest waiting message (seconds, or null when nothing waits). */
export function formatAge(seconds: number | null): string {
  return seconds === null ? '—' : formatDuration(seconds * 1000);
}

/** "5 s ago", "in 3 m" — how far `iso` is from `now`. */
export function formatRelative(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = now - at;
  if (Math.abs(delta) < 1000) return 'just now';
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

/** A time as the page shows it: local date and time to the second ("2026-11-22 10:30:05"). */
export function formatTime(iso: string, timeZone?: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const parts = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    ...(timeZone === undefined ? {} : { timeZone }),
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
}

/** An id shortened for a narrow column; the full id stays in the title and the link. */
export function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** A per-minute count as a rate. */
export function formatPerMinute(n: number): string {
  return `${formatCount(n)}/min`;
}

/**
 * Text for people: aligned tables and key/value blocks, nothing clever. Values are shown as
 * the API gives them (ISO times, JSON for objects), with `-` for null, so what a person reads
 * is what `--json` would have told a script.
 *
 * @module
 */

/** Column texts padded to the widest cell; numbers (right-aligned columns) pad on the left. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** One `key  value` line per field of an object, in the order the API gave them. */
export function keyValues(object: Readonly<Record<string, unknown>>): string[] {
  const width = Math.max(0, ...Object.keys(object).map((k) => k.length));
  return Object.entries(object).map(([key, value]) => `${key.padEnd(width)}  ${cell(value)}`);
}

/** A value in one cell: strings as they are, null and absent as `-`, anything else as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Seconds as a person reads an age: 0.4s, 12s, 3m05s, 2h10m. */
export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

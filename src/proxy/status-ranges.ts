/** Sets of HTTP statuses written as inclusive ranges ("500-599"). */
export type StatusRanges = ReadonlyArray<readonly [number, number]>;

export function parseStatusRanges(ranges: readonly string[]): StatusRanges {
  return ranges.map((range) => {
    const [lo, hi] = range.split('-').map(Number);
    return [lo ?? 0, hi ?? lo ?? 0] as const;
  });
}

export function inRanges(status: number, ranges: StatusRanges): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

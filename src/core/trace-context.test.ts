import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent, validTraceparent } from './trace-context.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe('W3C traceparent', () => {
  it('parses a version 00 header and formats it back', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: false });
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: true })).toBe(`00-${TRACE}-${SPAN}-01`);
  });

  it('reads the sampled bit alone among the flags', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled).toBe(true);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled).toBe(false);
  });

  it('accepts a later version with more fields, and normalises it to 00', () => {
    expect(validTraceparent(`01-${TRACE}-${SPAN}-01-future`)).toBe(`00-${TRACE}-${SPAN}-01`);
  });

  it.each([
    ['no header', undefined],
    ['not a string', 42],
    ['empty', ''],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['extra field on version 00', `00-${TRACE}-${SPAN}-01-x`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['a header injected behind it', `00-${TRACE}-${SPAN}-01\r\nx-evil: 1`],
    ['far too long', `01-${TRACE}-${SPAN}-01-${'a'.repeat(600)}`],
  ])('ignores %s', (_what, value) => {
    expect(validTraceparent(value)).toBeNull();
  });
});

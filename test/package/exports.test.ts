/**
 * The public extension surface as a user's adapter sees it: imported by the package's own name
 * (`openhqm/ports`, resolved through package.json `exports` to the built dist), not by source path.
 * Needs `npm run build` first, as the e2e tests do.
 */
import { describe, expect, it } from 'vitest';

describe('openhqm/ports', () => {
  it('exports the typed errors, and isHqmError recognises an error from another copy of the module by its brand', async () => {
    const ports = await import('openhqm/ports');
    const error = new ports.HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'down');
    expect(ports.isHqmError(error)).toBe(true);
    // What a custom adapter's own bundled copy of HqmError looks like to the gateway's.
    const foreign = Object.assign(new Error('down'), { [Symbol.for('openhqm.HqmError')]: true, code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
    expect(ports.isHqmError(foreign)).toBe(true);
    expect(ports.isHqmError(Object.assign(new Error('x'), { [Symbol.for('openhqm.HqmError')]: true, code: 'NOT_A_CODE' }))).toBe(false);
    expect(ports.isHqmError(new Error('plain'))).toBe(false);
    expect(ports.planClaim({ status: 'PENDING', attempt: 2 }, null, { workerId: 'w', leaseMs: 10 }, 0)).toMatchObject({ kind: 'claim', change: { attempt: 3 }, leaseUntil: 10 });
  });
});

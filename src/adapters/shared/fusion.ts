/**
 * How a built-in queue and store hand their fused pairing (ports/fused.ts) the parts it needs,
 * without widening either port: each adapter instance, and each delivery of a queue that can
 * fuse, carries its parts under the `FUSION` symbol. The parts are technology-specific (the
 * SQLite handle and statements, the PostgreSQL pool and SQL fragments, the Redis connection and
 * script arguments) and typed in the technology's folder (shared/<technology>/fused.ts), which
 * is the only reader. Nothing outside src/adapters sees them (D181).
 *
 * @module
 */

export const FUSION: unique symbol = Symbol('openhqm.fusion');

/** Parts of one adapter (or delivery), tagged with the technology that reads them. */
export interface FusionParts {
  readonly technology: 'sqlite' | 'redis' | 'postgres';
  readonly role: 'queue' | 'store' | 'delivery';
}

/** The parts `value` carries for `technology` and `role`, or undefined. */
export function fusionParts<T extends FusionParts>(value: unknown, technology: T['technology'], role: T['role']): T | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const parts = (value as { [FUSION]?: FusionParts })[FUSION];
  return parts !== undefined && parts.technology === technology && parts.role === role ? (parts as T) : undefined;
}

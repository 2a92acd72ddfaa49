/**
 * Correlation ids are RFC 9562 UUIDs, version 7: 48 bits of millisecond time, then random bits.
 * Time-ordered ids keep the stores' indexes append-mostly — with random (v4) ids every insert
 * dirties a different B-tree page, which made SQLite writes 3–4× slower here. The time part
 * only reveals the submission time, which `submitted_at` publishes anyway. Any UUID is
 * accepted as an id (the original issued v4).
 *
 * @module
 */
import { createHmac, randomFillSync } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let offset = pool.length;

export function newCorrelationId(now: number = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f); // version 7
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f); // RFC 9562 variant
  return format(bytes);
}

/**
 * A stable id for a message that arrived without one (an outside producer's bare message): an
 * RFC 9562 version-8 UUID from HMAC-SHA256(`secret`, `key`), so every redelivery of the same
 * message maps to the same request, while someone who knows the key (a stream position and a
 * time are easy to guess) but not the per-deployment secret cannot compute it: 122 of its bits
 * come from the HMAC.
 */
export function correlationIdFor(key: string, secret: string): string {
  const bytes = createHmac('sha256', secret).update(key).digest().subarray(0, 16);
  bytes[6] = 0x80 | ((bytes[6] as number) & 0x0f); // version 8
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f); // RFC 9562 variant
  return format(bytes);
}

function format(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isCorrelationId(value: string): boolean {
  return value.length === 36 && UUID.test(value);
}

/**
 * The id as it is stored: ids are issued in lower case, and an upper-case spelling of one (a
 * UUID is case-insensitive, RFC 9562 §4) names the same request. Undefined for a non-id.
 */
export function normalizeCorrelationId(value: string): string | undefined {
  return isCorrelationId(value) ? value.toLowerCase() : undefined;
}

/**
 * API keys, kept only as SHA-256 digests. A presented key is hashed and compared with every
 * known digest in constant time (`timingSafeEqual`, and no early exit), so neither the answer
 * time nor a log line tells how close a guess came. The digest of a random 256-bit key is
 * safe to keep in a config file; the key itself is shown once, when it is made.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from '../core/access.js';

export interface ApiKeyEntry {
  readonly id: string;
  /** Lower-case hex SHA-256 of the key. */
  readonly keySha256: string;
  readonly tenant: string | null;
  readonly roles: readonly Role[];
}

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: a recognisable prefix and 256 random bits, base64url. */
export function generateApiKey(): string {
  return `hqm_${randomBytes(32).toString('base64url')}`;
}

interface Held {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/** The keys in force; replaced whole when a keys file is reloaded. */
export class KeyRing {
  #held: readonly Held[] = [];

  constructor(entries: readonly ApiKeyEntry[] = []) {
    this.replace(entries);
  }

  replace(entries: readonly ApiKeyEntry[]): void {
    this.#held = entries.map((e) => ({
      digest: Buffer.from(e.keySha256, 'hex'),
      principal: { id: e.id, tenant: e.tenant, roles: new Set(e.roles), via: 'api_key' },
    }));
  }

  get size(): number {
    return this.#held.length;
  }

  /** The tenants that hold a key (for bounded metric labels). */
  tenants(): string[] {
    return this.#held.flatMap((h) => (h.principal.tenant === null ? [] : [h.principal.tenant]));
  }

  /** The principal of `presented`, if it is a known key. */
  match(presented: string): Principal | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: Principal | undefined;
    // Every digest is compared, whatever matched: the time taken does not depend on which did.
    for (const held of this.#held) {
      if (timingSafeEqual(held.digest, digest) && found === undefined) found = held.principal;
    }
    return found;
  }
}

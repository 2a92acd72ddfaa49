/**
 * Who is calling and what they may do: a principal with a tenant and roles. Roles nest:
 * `admin` can do everything `submit` can, and `submit` everything `read` can; only an admin
 * sees other tenants' requests. Also the rule that ties JWT algorithms to the kind of key,
 * which the configuration and the verifier both apply. (Verifying credentials is src/auth/.)
 *
 * @module
 */

export const ROLES = ['read', 'submit', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Tenant names are label values and header values: a short, plain token. */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface Principal {
  /** The key's id, or the token's `sub`: for logs, never a secret. */
  readonly id: string;
  /** The tenant whose requests this principal sees; null only for an admin without one. */
  readonly tenant: string | null;
  readonly roles: ReadonlySet<Role>;
  /** How the principal authenticated. */
  readonly via: 'api_key' | 'jwt';
}

/** What a route asks of its caller. */
export type Access = 'public' | 'authenticated' | Role;

const RANK: Readonly<Record<Role, number>> = { read: 1, submit: 2, admin: 3 };

/** Whether `principal` may use a route that needs `access` (the caller has authenticated it). */
export function grants(principal: Principal, access: Access): boolean {
  if (access === 'public' || access === 'authenticated') return true;
  if (principal.roles.has('admin')) return true;
  // Without a tenant there are no own requests to submit or read.
  if (principal.tenant === null) return false;
  const needed = RANK[access];
  for (const role of principal.roles) if (RANK[role] >= needed) return true;
  return false;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * Whether a principal may see a request of `tenant`: an admin sees every tenant's, anyone else
 * only their own. With authentication off there is no principal and everything is visible.
 */
export function sees(principal: Principal | null, tenant: string | null): boolean {
  if (principal === null || principal.roles.has('admin')) return true;
  return principal.tenant !== null && principal.tenant === tenant;
}

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Where a JWT verification key comes from. */
export type JwtKeyKind = 'jwks' | 'public_key' | 'secret';

/**
 * The algorithms a key of `kind` may verify, of those asked for (all of its family when none
 * are): HMAC only with a shared secret, public-key algorithms only with a public key or a JWKS.
 * `none` belongs to neither. This is what makes "HS256 signed with the public key" impossible.
 */
export function allowedAlgorithms(kind: JwtKeyKind, asked: readonly string[]): { allowed: string[]; refused: string[] } {
  const family: readonly string[] = kind === 'secret' ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
  if (asked.length === 0) return { allowed: [...family], refused: [] };
  return { allowed: asked.filter((a) => family.includes(a)), refused: asked.filter((a) => !family.includes(a)) };
}

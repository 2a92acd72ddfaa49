/**
 * JWT bearer tokens, verified with `jose` (no hand-written parsing): the signature with a key
 * from a JWKS URL, a static public key (PEM) or a shared secret; then `exp`/`nbf` (with clock
 * skew), `iss` and `aud`. Which algorithms are accepted follows from the key: HMAC (HS*) only
 * with a secret, public-key algorithms only with a public key or a JWKS — so a token that says
 * HS256 and was "signed" with the public key as secret, or one that says `none`, finds no key.
 *
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { HqmError } from '../core/errors.js';
import { allowedAlgorithms, isRole, TENANT_PATTERN, type Principal, type Role } from '../core/access.js';
import { RefreshingJwks, type JwksOptions } from './jwks.js';

export type JwtKeySource =
  | ({ readonly kind: 'jwks' } & JwksOptions)
  | { readonly kind: 'public_key'; readonly pem: string }
  | { readonly kind: 'secret'; readonly secret: string };

export interface JwtSettings {
  readonly key: JwtKeySource;
  readonly issuer: string | null;
  /** Accepted audiences; empty: `aud` is not checked. */
  readonly audience: readonly string[];
  /** Empty: every algorithm the key source allows. */
  readonly algorithms: readonly string[];
  readonly clockSkewSeconds: number;
  /** Claim naming the tenant; a dotted path descends into objects. */
  readonly tenantClaim: string;
  /** Claim with the roles: a list, or a space- or comma-separated string. */
  readonly rolesClaim: string;
}

export class JwtVerifier {
  readonly #key: KeyObject | Uint8Array | RefreshingJwks;
  readonly #algorithms: string[];

  constructor(
    private readonly settings: JwtSettings,
    onJwksError: (error: Error) => void = () => undefined,
  ) {
    const { allowed, refused } = allowedAlgorithms(settings.key.kind, settings.algorithms);
    // The schema refuses this already; checked again because this is the line that matters.
    if (refused.length > 0 || allowed.length === 0) throw new HqmError('HQM_ERR_CONFIG', `auth.jwt.algorithms: ${refused.join(', ') || 'none'} cannot be used with auth.jwt.${settings.key.kind}`);
    this.#algorithms = allowed;
    const key = settings.key;
    this.#key = key.kind === 'secret' ? new TextEncoder().encode(key.secret) : key.kind === 'public_key' ? createPublicKey(key.pem) : new RefreshingJwks(key, onJwksError);
  }

  /** The principal a token names; throws HQM_ERR_UNAUTHENTICATED (or AUTH_UNAVAILABLE) otherwise. */
  async verify(token: string): Promise<Principal> {
    const options = {
      algorithms: this.#algorithms,
      issuer: this.settings.issuer ?? undefined,
      audience: this.settings.audience.length === 0 ? undefined : [...this.settings.audience],
      clockTolerance: this.settings.clockSkewSeconds,
    };
    let payload: JWTPayload;
    try {
      const key = this.#key;
      ({ payload } = key instanceof RefreshingJwks ? await jwtVerify(token, key.resolve, options) : await jwtVerify(token, key, options));
    } catch (error) {
      throw explain(error);
    }
    return this.#principal(payload);
  }

  close(): void {
    if (this.#key instanceof RefreshingJwks) this.#key.close();
  }

  #principal(payload: JWTPayload): Principal {
    const tenant = claim(payload, this.settings.tenantClaim);
    if (tenant !== undefined && tenant !== null && (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant))) {
      throw new HqmError('HQM_ERR_UNAUTHENTICATED', `invalid token: claim ${this.settings.tenantClaim} is not a tenant name (letters, digits, ".", "_", "-"; at most 64)`);
    }
    return {
      id: typeof payload.sub === 'string' ? payload.sub : 'jwt',
      tenant: typeof tenant === 'string' ? tenant : null,
      roles: new Set(rolesOf(claim(payload, this.settings.rolesClaim))),
      via: 'jwt',
    };
  }
}

/** A claim by name (which may itself contain dots, as namespaced claims do) or by dotted path. */
function claim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let node: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function rolesOf(value: unknown): Role[] {
  const names = typeof value === 'string' ? value.split(/[\s,]+/) : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return names.filter(isRole);
}

const REASONS: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token is signed with an algorithm that is not accepted',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'no key of the key set matches the token (kid, alg)',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'several keys of the key set match the token; it needs a kid',
  ERR_JWS_INVALID: 'the token is malformed',
  ERR_JWT_INVALID: 'the token is malformed',
  ERR_JOSE_NOT_SUPPORTED: 'the token uses an algorithm or key type that is not supported',
};

/** jose's error as ours. Its messages name claims, never the token or the key. */
function explain(error: unknown): HqmError {
  if (error instanceof errors.JWTClaimValidationFailed) {
    const what = error.claim === 'nbf' ? 'the token is not valid yet' : `claim ${error.claim} ${error.reason === 'check_failed' ? 'does not match' : error.reason}`;
    return new HqmError('HQM_ERR_UNAUTHENTICATED', `invalid token: ${what}`);
  }
  if (error instanceof errors.JOSEError) {
    const reason = REASONS[error.code];
    if (reason !== undefined) return new HqmError('HQM_ERR_UNAUTHENTICATED', `invalid token: ${reason}`);
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC') return unavailable(error);
    return new HqmError('HQM_ERR_UNAUTHENTICATED', 'invalid token', { cause: error });
  }
  // fetch itself failed: the key set is out of reach.
  return unavailable(error);
}

function unavailable(cause: unknown): HqmError {
  return new HqmError('HQM_ERR_AUTH_UNAVAILABLE', 'the key set that verifies tokens cannot be fetched; try again', { cause });
}

/**
 * Turns the credential of an HTTP request into a principal. Two places carry one:
 * `X-API-Key: <key>`, or `Authorization: Bearer <key or JWT>`; a bearer value that is a known
 * API key is one, else it is verified as a JWT when `auth.jwt` is configured. The errors say
 * what was wrong with the credential (missing, unknown key, expired token, …) and nothing else.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import type { KeyRing } from './api-keys.js';
import type { JwtVerifier } from './jwt.js';
import type { Principal } from '../core/access.js';

export type CredentialHeader = 'authorization' | 'x-api-key';

export interface Authentication {
  readonly principal: Principal;
  /** Which header carried the credential (not to be passed on to an application). */
  readonly header: CredentialHeader;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** `details.challenge` of a 401: whether a credential was there at all (RFC 6750's error="invalid_token"). */
export type Challenge = 'missing' | 'invalid';

export class Authenticator {
  constructor(
    private readonly keys: KeyRing,
    private readonly jwt?: JwtVerifier,
  ) {}

  async authenticate(headers: Headers): Promise<Authentication> {
    const apiKey = headers['x-api-key'];
    if (apiKey !== undefined) {
      const principal = typeof apiKey === 'string' ? this.keys.match(apiKey.trim()) : undefined;
      if (principal === undefined) throw invalid('unknown API key (X-API-Key)');
      return { principal, header: 'x-api-key' };
    }
    const authorization = headers.authorization;
    if (authorization === undefined || authorization === '') throw unauthenticated('missing', 'a credential is required: Authorization: Bearer <API key or JWT>, or X-API-Key: <API key>');
    const match = typeof authorization === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization) : null;
    const token = match?.[1];
    if (token === undefined) throw invalid('expected Authorization: Bearer <API key or JWT>');
    const principal = this.keys.match(token);
    if (principal !== undefined) return { principal, header: 'authorization' };
    if (this.jwt === undefined || !looksLikeJwt(token)) throw invalid('unknown API key');
    return { principal: await this.jwt.verify(token), header: 'authorization' };
  }

  close(): void {
    this.jwt?.close();
  }
}

/** Three base64url parts: a JWS in compact form (what else it is, jose decides). */
function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}

function unauthenticated(challenge: Challenge, message: string): HqmError {
  return new HqmError('HQM_ERR_UNAUTHENTICATED', message, { details: { challenge } });
}

function invalid(message: string): HqmError {
  return unauthenticated('invalid', message);
}

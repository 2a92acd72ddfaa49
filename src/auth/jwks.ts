/**
 * A remote JWKS that keeps working while its server is down (stale-while-error). jose's
 * `createRemoteJWKSet` fetches on first use and again for a `kid` it does not know (at most once
 * per `cooldownDuration`), but once its cache is older than `cacheMaxAge` it refuses every token
 * while the server is unreachable. So its own expiry is turned off (`cacheMaxAge: Infinity`) and
 * the set is refreshed here in the background every `refreshMs`: a failed refresh is reported
 * and the keys held stay in force; a successful one drops keys the server no longer lists.
 *
 * @module
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';

export interface JwksOptions {
  readonly url: string;
  /** How often the key set is fetched again in the background. */
  readonly refreshMs: number;
  /** Least time between two fetches caused by an unknown kid (a flood of forged kids costs one fetch per period). */
  readonly cooldownMs: number;
  /** How long one fetch may take. */
  readonly timeoutMs: number;
}

export class RefreshingJwks {
  readonly #set: RemoteJWKSet;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly options: JwksOptions,
    private readonly onError: (error: Error) => void,
  ) {
    this.#set = createRemoteJWKSet(new URL(options.url), { cacheMaxAge: Infinity, cooldownDuration: options.cooldownMs, timeoutDuration: options.timeoutMs });
  }

  /** The key resolver for jwtVerify; starts the background refresh once the set was first fetched. */
  readonly resolve: JWTVerifyGetKey = async (header, token) => {
    const key = await this.#set(header, token);
    this.#startRefreshing();
    return key;
  };

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #startRefreshing(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => {
      this.#set.reload().catch((error: unknown) => {
        this.onError(new Error(`refreshing the JWT key set from ${withoutQuery(this.options.url)} failed; the keys held stay in force: ${(error as Error).message}`, { cause: error }));
      });
    }, this.options.refreshMs);
    this.#timer.unref();
  }
}

/** The URL as it may be logged: a query could carry a token. */
function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

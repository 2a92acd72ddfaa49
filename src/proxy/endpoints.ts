/**
 * Upstream endpoints as the proxy sees them, resolved once from configuration, and the
 * policy every forwarded call follows.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import type { StatusRanges } from './status-ranges.js';

export type AuthSpec =
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'api_key'; readonly token: string; readonly header: string }
  | { readonly type: 'custom'; readonly token: string; readonly header: string }
  | { readonly type: 'basic'; readonly username: string; readonly password: string };

export interface EndpointSpec {
  readonly name: string;
  readonly url: string;
  readonly method: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: AuthSpec | null;
  readonly maxConcurrency: number | null;
  readonly ratePerSecond: number | null;
  readonly breaker: { readonly failureThreshold: number; readonly resetMs: number };
}

export interface ProxyPolicy {
  /** Lower-case names of request headers forwarded from `headers` of a submit; '*' for all. */
  readonly forwardHeaders: ReadonlySet<string>;
  /** Lower-case names never forwarded. */
  readonly stripHeaders: ReadonlySet<string>;
  readonly maxResponseBytes: number;
  readonly retryOn: StatusRanges;
  readonly failOn: StatusRanges;
  /**
   * Lower-case header that tells the upstream a request's tenant (auth.tenant_header, with
   * auth.enabled): set from the envelope, a client's own value dropped. Undefined: none.
   */
  readonly tenantHeader?: string;
}

/**
 * What a URL says about the endpoint it names: the name it is known by in metrics, logs and
 * errors — its origin, never its userinfo, path or query (bounded, and no secret) — the URL to
 * call without userinfo, and the userinfo as Basic auth (undici would drop it silently).
 */
export function urlEndpoint(url: string): { readonly name: string; readonly url: string; readonly auth: AuthSpec | null } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { name: parsed.origin, url, auth: null };
  const auth: AuthSpec = { type: 'basic', username: decoded(parsed.username), password: decoded(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { name: parsed.origin, url: parsed.toString(), auth };
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // Not valid percent-encoding: the bytes as written.
  }
}

export class EndpointCatalogue {
  readonly #byName: ReadonlyMap<string, EndpointSpec>;
  readonly #default: EndpointSpec | null;
  /** Ad-hoc endpoints of route URLs: bounded by the routes in force. */
  readonly #byUrl = new Map<string, EndpointSpec>();

  /** `defaultEndpoint` is a name in `endpoints` or a URL (an ad-hoc endpoint with `defaults`). */
  constructor(
    endpoints: readonly EndpointSpec[],
    private readonly defaultEndpoint: string | null,
    private readonly adHoc: Omit<EndpointSpec, 'name' | 'url'>,
  ) {
    this.#byName = new Map(endpoints.map((e) => [e.name, e]));
    this.#default = defaultEndpoint !== null && !this.#byName.has(defaultEndpoint) && isUrl(defaultEndpoint) ? this.#fromUrl(defaultEndpoint) : null;
  }

  get names(): readonly string[] {
    return [...this.#byName.keys()];
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** A route's target: a configured name, or a URL (routes are operator configuration). */
  resolveTarget(target: string): EndpointSpec {
    const named = this.#byName.get(target);
    if (named !== undefined) return named;
    if (isUrl(target)) {
      let spec = this.#byUrl.get(target);
      if (spec === undefined) {
        spec = this.#fromUrl(target);
        this.#byUrl.set(target, spec);
      }
      return spec;
    }
    throw new HqmError('HQM_ERR_ENDPOINT_UNKNOWN', `unknown endpoint "${target}" (configured: ${this.names.join(', ') || 'none'})`, { details: { endpoint: target } });
  }

  /** The endpoint a request names, or the default one. */
  resolve(name: string | null): EndpointSpec {
    const wanted = name ?? this.defaultEndpoint;
    if (wanted === null) {
      throw new HqmError('HQM_ERR_ENDPOINT_UNKNOWN', 'the request names no endpoint and proxy.default_endpoint is not set');
    }
    const named = this.#byName.get(wanted);
    if (named !== undefined) return named;
    if (name === null && this.#default !== null) return this.#default;
    throw new HqmError('HQM_ERR_ENDPOINT_UNKNOWN', `unknown endpoint "${wanted}" (configured: ${this.names.join(', ') || 'none'})`, { details: { endpoint: wanted } });
  }

  #fromUrl(url: string): EndpointSpec {
    const { name, url: plain, auth } = urlEndpoint(url);
    return { ...this.adHoc, name, url: plain, auth: auth ?? this.adHoc.auth };
  }
}

function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

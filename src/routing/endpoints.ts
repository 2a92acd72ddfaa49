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

export class EndpointCatalogue {
  readonly #byName: ReadonlyMap<string, EndpointSpec>;

  /** `defaultEndpoint` is a name in `endpoints` or a URL (an ad-hoc endpoint with `defaults`). */
  constructor(
    endpoints: readonly EndpointSpec[],
    private readonly defaultEndpoint: string | null,
    private readonly adHoc: Omit<EndpointSpec, 'name' | 'url'>,
  ) {
    this.#byName = new Map(endpoints.map((e) => [e.name, e]));
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
    if (/^https?:\/\//i.test(target)) return { ...this.adHoc, name: target, url: target };
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
    if (name === null && /^https?:\/\//i.test(wanted)) return { ...this.adHoc, name: 'default', url: wanted };
    throw new HqmError('HQM_ERR_ENDPOINT_UNKNOWN', `unknown endpoint "${wanted}" (configured: ${this.names.join(', ') || 'none'})`, { details: { endpoint: wanted } });
  }
}

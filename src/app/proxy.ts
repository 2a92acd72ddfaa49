/** Builds the proxy (endpoint catalogue, policy, egress client, forwarder) from configuration. */
import { createUndiciClient } from '../adapters/http/undici/index.js';
import type { Config } from '../config/schema.js';
import type { HqmEvents } from '../core/events.js';
import type { HttpClient } from '../ports/http-client.js';
import type { Tracing } from '../ports/tracing.js';
import { EndpointCatalogue, urlEndpoint, type AuthSpec, type EndpointSpec, type ProxyPolicy } from '../proxy/endpoints.js';
import { Forwarder } from '../proxy/forwarder.js';
import type { Router } from '../routing/router.js';
import { parseStatusRanges } from '../proxy/status-ranges.js';

type ProxyConfig = Config['proxy'];
type EndpointConfig = ProxyConfig['endpoints'][string];

export interface Proxy {
  readonly forwarder: Forwarder;
  readonly endpoints: EndpointCatalogue;
  readonly http: HttpClient;
}

/** `tenantHeader`: auth.tenant_header when authentication is on. */
export async function createProxy(config: ProxyConfig, events: HqmEvents, routes?: () => Router, tenantHeader?: string, tracing?: Tracing): Promise<Proxy> {
  const endpoints = endpointCatalogue(config);
  const http = await createUndiciClient({ maxConnections: config.max_connections });
  return { forwarder: new Forwarder({ http, endpoints, policy: proxyPolicy(config, tenantHeader), events, routes, tracing }), endpoints, http };
}

export function endpointCatalogue(config: ProxyConfig): EndpointCatalogue {
  const breaker = (own: EndpointConfig['circuit_breaker']): EndpointSpec['breaker'] => {
    const b = own ?? config.circuit_breaker;
    return { failureThreshold: b.failure_threshold, resetMs: b.reset_timeout_seconds * 1000 };
  };
  const specs = Object.entries(config.endpoints).map(([name, e]): EndpointSpec => {
    // Userinfo in the URL is Basic auth; the schema refuses it next to an auth_type.
    const fromUrl = urlEndpoint(e.url);
    return {
      name,
      url: fromUrl.url,
      method: e.method,
      timeoutMs: e.timeout * 1000,
      headers: e.headers ?? {},
      auth: auth(e) ?? fromUrl.auth,
      maxConcurrency: e.max_concurrency,
      ratePerSecond: e.rate_limit_per_second,
      breaker: breaker(e.circuit_breaker),
    };
  });
  const adHoc = { method: 'POST', timeoutMs: 300_000, headers: {}, auth: null, maxConcurrency: null, ratePerSecond: null, breaker: breaker(undefined) };
  return new EndpointCatalogue(specs, config.default_endpoint, adHoc);
}

export function proxyPolicy(config: ProxyConfig, tenantHeader?: string): ProxyPolicy {
  const lower = (names: readonly string[]): Set<string> => new Set(names.map((n) => n.trim().toLowerCase()));
  return {
    ...(tenantHeader === undefined || tenantHeader === '' ? {} : { tenantHeader: tenantHeader.toLowerCase() }),
    forwardHeaders: lower(config.forward_headers),
    stripHeaders: lower(config.strip_headers),
    maxResponseBytes: config.max_response_size,
    retryOn: parseStatusRanges(config.retry_on_status),
    failOn: parseStatusRanges(config.fail_on_status),
  };
}

/** The schema has checked that each auth type has the fields it needs. */
function auth(e: EndpointConfig): AuthSpec | null {
  switch (e.auth_type) {
    case null:
      return null;
    case 'bearer':
      return { type: 'bearer', token: e.auth_token ?? '' };
    case 'basic':
      return { type: 'basic', username: e.auth_username ?? '', password: e.auth_password ?? '' };
    case 'api_key':
      return { type: 'api_key', token: e.auth_token ?? '', header: e.auth_header_name ?? 'X-API-Key' };
    case 'custom':
      return { type: 'custom', token: e.auth_token ?? '', header: e.auth_header_name ?? 'Authorization' };
  }
}

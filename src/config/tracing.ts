/**
 * Tracing is configured by the standard OpenTelemetry variables, not by OPENHQM_* keys: the
 * same `OTEL_*` settings an operator gives every other service. This module decides whether
 * tracing is on and checks the variables OpenHQM itself interprets (switch, exporter, protocol,
 * endpoint, sampler), so a wrong value is refused at start-up like any bad setting instead of
 * being ignored by the SDK with a diagnostic nobody sees. The variables only the SDK reads
 * (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, the
 * span limits) are left to it. D204, D205.
 *
 * Off by default — unlike the SDK's own default exporter, a gateway that nobody pointed at a
 * collector sends nothing. On when an OTLP endpoint is given or `OTEL_TRACES_EXPORTER=otlp`;
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep it off whatever else is set.
 *
 * @module
 */
import type { FieldIssue } from '../core/errors.js';

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export type TracingSettings =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      /** Where spans are posted (OTLP/HTTP), resolved as the specification says. */
      readonly endpoint: string;
      readonly protocol: 'http/protobuf' | 'http/json';
      readonly sampler: { readonly name: SamplerName; readonly ratio: number };
      /** OTEL_SERVICE_NAME; null: OTEL_RESOURCE_ATTRIBUTES' service.name, else `openhqm`. */
      readonly serviceName: string | null;
    };

export const TRACING_OFF: TracingSettings = { enabled: false };

const SAMPLERS: readonly SamplerName[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
const DEFAULT_ENDPOINT = 'http://localhost:4318/';

type Env = Readonly<Record<string, string | undefined>>;

/** The tracing settings of `env`; problems are added to `issues` (then the settings say off). */
export function tracingSettings(env: Env, issues: FieldIssue[]): TracingSettings {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  if (read('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return TRACING_OFF;
  const found: FieldIssue[] = [];
  const exporters = (read('OTEL_TRACES_EXPORTER') ?? '').toLowerCase().split(',').map((e) => e.trim()).filter((e) => e !== '');
  const unsupported = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unsupported.length > 0) found.push({ path: 'OTEL_TRACES_EXPORTER', message: `${unsupported.join(', ')} is not supported: OpenHQM exports traces over OTLP/HTTP only (otlp), or none` });
  const signalEndpoint = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  const wanted = exporters.includes('otlp') || (exporters.length === 0 && (signalEndpoint !== undefined || baseEndpoint !== undefined));
  if (exporters.includes('none') && !exporters.includes('otlp')) return settle(found, issues, TRACING_OFF);
  if (!wanted) return settle(found, issues, TRACING_OFF);

  const endpoint = resolveEndpoint(signalEndpoint, baseEndpoint, found);
  const protocolName = read('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = read(protocolName) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    found.push({ path: protocolName, message: `${JSON.stringify(protocol)} is not supported: use http/protobuf (the default) or http/json; OpenHQM sends OTLP over HTTP (port 4318), not gRPC` });
  }
  const sampler = samplerOf(read('OTEL_TRACES_SAMPLER'), read('OTEL_TRACES_SAMPLER_ARG'), found);
  return settle(found, issues, {
    enabled: true,
    endpoint,
    protocol: protocol === 'http/json' ? 'http/json' : 'http/protobuf',
    sampler,
    serviceName: read('OTEL_SERVICE_NAME') ?? null,
  });
}

function settle(found: readonly FieldIssue[], issues: FieldIssue[], settings: TracingSettings): TracingSettings {
  issues.push(...found);
  return found.length > 0 ? TRACING_OFF : settings;
}

/** The traces URL: the signal's own variable as it is, else the base with `v1/traces` appended (the specification's rule). */
function resolveEndpoint(signal: string | undefined, base: string | undefined, issues: FieldIssue[]): string {
  const [name, raw, url] =
    signal !== undefined ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', signal, signal] : ['OTEL_EXPORTER_OTLP_ENDPOINT', base ?? DEFAULT_ENDPOINT, `${(base ?? DEFAULT_ENDPOINT).replace(/\/*$/, '')}/v1/traces`];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    issues.push({ path: name, message: `${JSON.stringify(raw)} is not a URL` });
    return url;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') issues.push({ path: name, message: `${JSON.stringify(raw)}: expected an http:// or https:// URL (OTLP/HTTP)` });
  return url;
}

function samplerOf(name: string | undefined, arg: string | undefined, issues: FieldIssue[]): { name: SamplerName; ratio: number } {
  const sampler = (name ?? 'parentbased_always_on').toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(sampler)) {
    issues.push({ path: 'OTEL_TRACES_SAMPLER', message: `unknown sampler ${JSON.stringify(name)}; expected one of ${SAMPLERS.join(', ')}` });
    return { name: 'parentbased_always_on', ratio: 1 };
  }
  if (!sampler.endsWith('traceidratio')) return { name: sampler as SamplerName, ratio: 1 };
  const ratio = arg === undefined ? 1 : Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    issues.push({ path: 'OTEL_TRACES_SAMPLER_ARG', message: `expected a probability from 0 to 1 for ${sampler}, got ${JSON.stringify(arg)}` });
  }
  return { name: sampler as SamplerName, ratio };
}

/** The endpoint as a log line may show it: no userinfo, no query. */
export function shownEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the OTLP endpoint';
  }
}

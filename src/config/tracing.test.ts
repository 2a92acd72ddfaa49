import { describe, expect, it } from 'vitest';
import type { FieldIssue } from '../core/errors.js';
import { loadConfig } from './load.js';
import { tracingSettings } from './tracing.js';

function settle(env: Record<string, string>): { settings: ReturnType<typeof tracingSettings>; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  return { settings: tracingSettings(env, issues), issues };
}

describe('tracing settings (OTEL_* variables)', () => {
  it('is off by default, and with only other OTEL variables set', () => {
    expect(settle({}).settings).toEqual({ enabled: false });
    expect(settle({ OTEL_SERVICE_NAME: 'gw', OTEL_TRACES_SAMPLER: 'nonsense' })).toEqual({ settings: { enabled: false }, issues: [] });
  });

  it('turns on with an OTLP endpoint, appending v1/traces to the base URL', () => {
    expect(settle({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).settings).toEqual({
      enabled: true,
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      sampler: { name: 'parentbased_always_on', ratio: 1 },
      serviceName: null,
    });
    expect(settle({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' }).settings).toMatchObject({ endpoint: 'http://collector:4318/otlp/v1/traces' });
  });

  it('takes the traces endpoint as it is, and it wins over the base', () => {
    expect(settle({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom/path' }).settings).toMatchObject({ enabled: true, endpoint: 'https://b/custom/path' });
  });

  it('turns on with OTEL_TRACES_EXPORTER=otlp alone, to the default localhost collector', () => {
    expect(settle({ OTEL_TRACES_EXPORTER: 'otlp' }).settings).toMatchObject({ enabled: true, endpoint: 'http://localhost:4318/v1/traces' });
  });

  it('stays off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, whatever else is set', () => {
    expect(settle({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'otlp' }).settings).toEqual({ enabled: false });
    expect(settle({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' }).settings).toEqual({ enabled: false });
    expect(settle({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' }).settings.enabled).toBe(true);
  });

  it('reads the protocol, the sampler and the service name', () => {
    const { settings } = settle({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'ParentBased_TraceIdRatio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'gateway',
    });
    expect(settings).toMatchObject({ protocol: 'http/json', sampler: { name: 'parentbased_traceidratio', ratio: 0.25 }, serviceName: 'gateway' });
  });

  it('refuses what it cannot honour, naming each variable', () => {
    const { settings, issues } = settle({
      OTEL_TRACES_EXPORTER: 'otlp,zipkin',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'jaeger_remote',
    });
    expect(settings).toEqual({ enabled: false });
    expect(issues.map((i) => i.path)).toEqual(['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER']);
    expect(settle({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }).issues).toEqual([
      { path: 'OTEL_TRACES_SAMPLER_ARG', message: 'expected a probability from 0 to 1 for traceidratio, got "2"' },
    ]);
    expect(settle({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }).issues.map((i) => i.path)).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT']);
  });

  it('is part of loading the configuration: a bad variable is a configuration error like any other', () => {
    expect(loadConfig({ env: {} }).tracing).toEqual({ enabled: false });
    expect(loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' } }).tracing).toMatchObject({ enabled: true });
    expect(() => loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_SAMPLER: 'sometimes', OPENHQM_SERVER__PORT: 'eighty' } })).toThrow(
      /invalid configuration \(2 problems\):[\s\S]*server\.port[\s\S]*OTEL_TRACES_SAMPLER: unknown sampler "sometimes"/,
    );
  });
});

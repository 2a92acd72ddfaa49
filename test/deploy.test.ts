/** The Kubernetes manifests, docker-compose.yml and the Dockerfile stay consistent with the configuration schema and the code. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { exportedMetricNames, metricsIn } from './helpers/metric-names.js';
import { KUBERNETES_DIR, needKubectl, openhqmContainers, openhqmYaml, OVERLAYS, pods, render, type Container } from './helpers/kustomize.js';

/** Every YAML file under deploy/kubernetes, parsed. */
function sources(dir = KUBERNETES_DIR): Array<{ file: string; docs: Array<Record<string, unknown>> }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    if (!name.endsWith('.yaml')) return [];
    return [{ file: relative(KUBERNETES_DIR, path), docs: parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Record<string, unknown>) }];
  });
}

describe('deploy/kubernetes: the sources (checked with or without kubectl)', () => {
  const files = sources();
  const kustomizations = files.filter((f) => /(^|\/)kustomization\.yaml$/.test(f.file));

  it('is a base, components and one overlay per deployment', () => {
    expect(kustomizations.map((k) => k.file).sort()).toEqual(['base/kustomization.yaml', 'components/keda/kustomization.yaml', ...OVERLAYS.map((o) => `overlays/${o}/kustomization.yaml`)].sort());
  });

  it('holds only objects with apiVersion, kind and a name; kustomizations name files that exist, and every file is used', () => {
    const used = new Set<string>();
    for (const { file, docs } of kustomizations) {
      const k = docs[0] as { resources?: string[]; components?: string[]; configMapGenerator?: Array<{ files?: string[] }> };
      for (const ref of [...(k.resources ?? []), ...(k.components ?? []), ...(k.configMapGenerator ?? []).flatMap((g) => g.files ?? [])]) {
        const target = join(KUBERNETES_DIR, dirname(file), ref);
        expect(existsSync(target), `${file} names ${ref}`).toBe(true);
        used.add(relative(KUBERNETES_DIR, target));
      }
    }
    for (const { file, docs } of files) {
      if (kustomizations.some((k) => k.file === file)) continue;
      expect(used.has(file), `${file} is in no kustomization`).toBe(true);
      if (file.endsWith('openhqm.yaml')) continue; // configuration, checked against the schema below
      for (const doc of docs) {
        expect(doc.apiVersion, file).toEqual(expect.any(String));
        expect(doc.kind, file).toEqual(expect.any(String));
        expect((doc.metadata as { name?: unknown } | undefined)?.name, file).toEqual(expect.any(String));
      }
    }
  });

  it('gives configuration files the schema accepts', () => {
    const configs = files.filter((f) => f.file.endsWith('openhqm.yaml'));
    expect(configs.length).toBeGreaterThanOrEqual(2);
    for (const { file } of configs) {
      expect(() => loadConfig({ env: { OPENHQM_CONFIG: join(KUBERNETES_DIR, file), OPENHQM_QUEUE__REDIS_URL: 'redis://r:6379', OPENHQM_CACHE__REDIS_URL: 'redis://r:6379' } }), file).not.toThrow();
    }
  });
});

/** The configuration a container runs with: the overlay's openhqm.yaml and its environment (secrets stand in). */
function containerConfig(yaml: string, container: Container): Config {
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-deploy-'));
  const file = join(dir, 'openhqm.yaml');
  writeFileSync(file, yaml);
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? 'redis://secret:6379']));
  env.OPENHQM_CONFIG = file;
  return loadConfig({ env }).config;
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s rendered by kubectl kustomize', (overlay) => {
  it('gives every OpenHQM container a configuration the schema accepts and an OpenHQM command', (ctx) => {
    if (!needKubectl(ctx)) return;
    const docs = render(overlay);
    const yaml = openhqmYaml(docs);
    const openhqm = pods(docs).flatMap(({ template }) => openhqmContainers(template.spec?.containers ?? []));
    expect(openhqm.length).toBeGreaterThanOrEqual(2);
    for (const container of openhqm) {
      expect(() => containerConfig(yaml, container), container.name).not.toThrow();
      expect(['api', 'worker', 'start']).toContain(container.args?.[0]);
    }
  });

  it('lets a pod drain: terminationGracePeriodSeconds is longer than worker.shutdown_grace_seconds', (ctx) => {
    if (!needKubectl(ctx)) return;
    const docs = render(overlay);
    let workers = 0;
    for (const { name, template } of pods(docs)) {
      for (const container of openhqmContainers(template.spec?.containers ?? [])) {
        // Kubernetes' default is 30 seconds.
        const period = template.spec?.terminationGracePeriodSeconds ?? 30;
        const config = containerConfig(openhqmYaml(docs), container);
        if (['worker', 'start'].includes(container.args?.[0] ?? 'start')) workers += 1;
        expect(period, `${name}/${container.name}`).toBeGreaterThan(config.worker.shutdown_grace_seconds);
      }
    }
    expect(workers).toBeGreaterThan(0);
  });

  it('refers only to ConfigMaps and Secrets it makes (or the documented openhqm-redis Secret)', (ctx) => {
    if (!needKubectl(ctx)) return;
    const docs = render(overlay);
    const made = new Set(docs.filter((d) => d.kind === 'ConfigMap' || d.kind === 'Secret').map((d) => d.metadata?.name));
    // The sidecar overlay runs against your Redis: its Secret is yours to create (docs/kubernetes.md).
    if (overlay === 'sidecar') made.add('openhqm-redis');
    for (const { name, template } of pods(docs)) {
      const refs = [
        ...(template.spec?.volumes ?? []).flatMap((v) => [v.configMap?.name, v.secret?.secretName]),
        ...(template.spec?.containers ?? []).flatMap((c) => (c.env ?? []).flatMap((e) => [e.valueFrom?.secretKeyRef?.name, e.valueFrom?.configMapKeyRef?.name])),
      ].filter((r): r is string => r !== undefined);
      for (const ref of refs) expect(made, `${name} refers to ${ref}`).toContain(ref);
    }
  });

  it('scales with KEDA only a Deployment it has, on exported metrics of a configured queue', (ctx) => {
    if (!needKubectl(ctx)) return;
    const docs = render(overlay);
    const scaled = docs.filter((d) => d.kind === 'ScaledObject');
    expect(scaled.length).toBe(overlay === 'standalone' ? 0 : 1);
    const exported = exportedMetricNames();
    for (const object of scaled) {
      expect(docs.filter((d) => d.kind === 'Deployment').map((d) => d.metadata?.name)).toContain(object.spec?.scaleTargetRef?.name);
      const { config } = loadConfig({ env: { OPENHQM_CONFIG: writeTemp(openhqmYaml(docs)), OPENHQM_QUEUE__REDIS_URL: 'redis://r:6379', OPENHQM_CACHE__REDIS_URL: 'redis://r:6379' } });
      for (const trigger of object.spec?.triggers ?? []) {
        const query = trigger.metadata?.query ?? '';
        for (const name of metricsIn(query)) expect(exported, `${object.metadata?.name}: ${query}`).toContain(name);
        for (const [, queue] of query.matchAll(/queue_name="([^"]+)"/g)) expect(queue).toBe(config.queue.request_queue_name);
      }
    }
  });
});

function writeTemp(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'openhqm-deploy-')), 'openhqm.yaml');
  writeFileSync(file, content);
  return file;
}

interface ComposeService {
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: Array<string | { source?: string; target?: string }>;
  stop_grace_period?: string;
}

/** docker-compose (Debian's package; no Docker engine needed for `config`); .ci/run installs it. */
const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

describe('docker-compose.yml', () => {
  const ROOT = fileURLToPath(new URL('..', import.meta.url));

  function resolved(ctx: { skip: (note: string) => void }): Record<string, ComposeService> | undefined {
    if (!dockerCompose && process.env.CI === 'true') throw new Error('docker-compose is not installed (CI=true: apt-get install docker-compose)');
    if (!dockerCompose) {
      ctx.skip('docker-compose is not installed (apt-get install docker-compose)');
      return undefined;
    }
    const run = spawnSync('docker-compose', ['--profile', 'sidecar', 'config'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return (parse(run.stdout) as { services: Record<string, ComposeService> }).services;
  }

  it('runs the API, two workers and Redis, and a sidecar example in its own profile', (ctx) => {
    const services = resolved(ctx);
    if (services === undefined) return;
    const plain = Object.entries(services).filter(([, s]) => s.profiles === undefined);
    const commands = plain.map(([, s]) => s.command?.[0]);
    expect(commands.filter((c) => c === 'api')).toHaveLength(1);
    expect(commands.filter((c) => c === 'worker')).toHaveLength(2);
    expect(Object.keys(services)).toContain('redis');
    expect(Object.entries(services).filter(([, s]) => s.profiles?.includes('sidecar') === true).map(([, s]) => s.command?.[0])).toEqual(expect.arrayContaining(['api', 'worker']));
  });

  it('offers a local Jaeger in the tracing profile, and passes the OTLP endpoint through (tracing stays off without it)', (ctx) => {
    if (resolved(ctx) === undefined) return;
    const run = spawnSync('docker-compose', ['--profile', 'tracing', 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' } });
    expect(run.status, run.stderr).toBe(0);
    const services = (parse(run.stdout) as { services: Record<string, ComposeService & { ports?: unknown[] }> }).services;
    expect(services.jaeger?.ports).toHaveLength(1);
    expect(services.api?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(loadConfig({ env: { ...services.api?.environment } }).tracing).toMatchObject({ enabled: true, endpoint: 'http://jaeger:4318/v1/traces' });
  });

  it('gives every OpenHQM service a configuration the schema accepts, and time to drain before SIGKILL', (ctx) => {
    const services = resolved(ctx);
    if (services === undefined) return;
    const openhqm = Object.entries(services).filter(([, s]) => ['api', 'worker', 'start'].includes(s.command?.[0] ?? ''));
    expect(openhqm.length).toBeGreaterThanOrEqual(5);
    for (const [name, service] of openhqm) {
      const env = { ...service.environment };
      // The configuration file a service mounts, read from where it lies in the repository.
      const mounted = (service.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v)).find((v) => v.target === env.OPENHQM_CONFIG);
      if (env.OPENHQM_CONFIG !== undefined) env.OPENHQM_CONFIG = mounted?.source ?? 'missing mount';
      const { config } = loadConfig({ env });
      expect(config.queue.type, name).toBe('redis');
      expect(seconds(service.stop_grace_period ?? '10s'), name).toBeGreaterThan(config.worker.shutdown_grace_seconds);
    }
  });
});

/** A Compose duration (`30s`, `1m30s`) in seconds. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|us)/g)) total += Number(n) * ({ h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 }[unit as 'h'] ?? 0);
  return total;
}

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');

  it('builds in stages, runs as a non-root user, and checks health', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);
  });
});

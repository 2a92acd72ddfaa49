/**
 * The Kubernetes manifests point probes and Prometheus only at paths OpenHQM serves: in the
 * container that listens (`api` or `start`, under the configured proxy.capture.control_prefix;
 * `worker` only with monitoring.metrics_port, at the root of that port). Anything else is either nothing (a worker has no listener) or,
 * worse, a captured request queued and forwarded to the application every scrape.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Metrics } from '../src/observability/metrics.js';

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}

interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Container[] } } };
}

const DIR = new URL('../deploy/kubernetes/', import.meta.url);
const docs = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8')).map((d) => d.toJS() as Manifest));

const config = parse(docs.find((d) => d.kind === 'ConfigMap')?.data?.['openhqm.yaml'] ?? '') as { proxy?: { capture?: { control_prefix?: string } } };
// The prefix moves the control paths whether or not capture is on.
const prefix = config.proxy?.capture?.control_prefix ?? '';

const pods = docs.filter((d) => d.spec?.template?.spec?.containers !== undefined).map((d) => ({ name: d.metadata?.name ?? '?', template: d.spec?.template ?? {} }));

/** OpenHQM containers, by the configuration they are given. */
function openhqm(containers: readonly Container[]): Container[] {
  return containers.filter((c) => c.env?.some((e) => e.name.startsWith('OPENHQM_')) === true);
}

const listens = (c: Container): boolean => ['api', 'start'].includes(c.args?.[0] ?? 'start') || workerListener(c) !== undefined;

/** A worker's own health and metrics listener (monitoring.metrics_port): its port, paths without the control prefix. */
function workerListener(c: Container): number | undefined {
  if (c.args?.[0] !== 'worker') return undefined;
  const port = c.env?.find((e) => e.name === 'OPENHQM_MONITORING__METRICS_PORT')?.value;
  return port === undefined || Number(port) === 0 ? undefined : Number(port);
}

/** Where a listening container serves the control paths: under the prefix, or at the root for a worker's listener. */
const base = (c: Container): string => (workerListener(c) === undefined ? prefix : '');

describe('deploy/kubernetes: probes and scrapes reach OpenHQM', () => {
  it('the configuration moves the control paths under a prefix (the application keeps its own /health)', () => {
    expect(prefix).toBe('/_openhqm');
  });

  it('probes only containers that listen, on control paths under the prefix (a worker’s own listener at the root)', () => {
    let probed = 0;
    for (const { name, template } of pods) {
      for (const container of openhqm(template.spec?.containers ?? [])) {
        const probes = [container.readinessProbe, container.livenessProbe, container.startupProbe].filter((p) => p?.httpGet !== undefined);
        if (!listens(container)) {
          expect(probes, `${name}/${container.name} runs \`openhqm ${container.args?.[0]}\`, which has no HTTP listener`).toEqual([]);
          continue;
        }
        for (const probe of probes) expect(probe?.httpGet?.path, `${name}/${container.name}`).toMatch(new RegExp(`^${base(container)}/health/(live|ready)$`));
        probed += probes.length;
      }
    }
    // Manifests without any HTTP probe would pass the checks above unchecked.
    expect(probed).toBeGreaterThan(0);
  });

  it('annotates for Prometheus exactly the pods with a listening OpenHQM container, with its port and the prefixed /metrics', () => {
    let scraped = 0;
    for (const { name, template } of pods) {
      const annotations = template.metadata?.annotations ?? {};
      const listening = openhqm(template.spec?.containers ?? []).filter(listens);
      if (listening.length === 0) {
        expect(Object.keys(annotations).filter((k) => k.startsWith('prometheus.io/')), `${name} has no OpenHQM listener to scrape`).toEqual([]);
        continue;
      }
      scraped += 1;
      expect(annotations['prometheus.io/scrape'], name).toBe('true');
      expect(annotations['prometheus.io/path'], name).toBe(`${base(listening[0] as Container)}/metrics`);
      const ports = listening.flatMap((c) => (c.ports ?? []).map((p) => String(p.containerPort)));
      expect(ports, name).toContain(annotations['prometheus.io/port']);
    }
    expect(scraped).toBeGreaterThan(0);
  });
});

describe('deploy/prometheus: the alert rules', () => {
  const rulesDir = new URL('../deploy/prometheus/', import.meta.url);
  const rules = parse(readFileSync(new URL('openhqm-alerts.yaml', rulesDir), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> };

  it('alert on dead-lettering, by metrics OpenHQM exports', () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.trackQueue('q', async () => ({ depth: 0, inFlight: 0, deadLettered: 0 }));
    const exported = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toContain('OpenHQMRequestsDeadLettered');
    for (const rule of all) {
      const used = rule.expr.match(/openhqm_[a-z_]+/g) ?? [];
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(exported, `${rule.alert} uses ${name}`).toContain(name);
    }
  });

  // promtool ships with Prometheus (Debian: apt-get install prometheus).
  const promtool = spawnSync('promtool', ['--version']).status === 0;

  it('pass promtool check rules and their unit tests (promtool test rules)', (ctx) => {
    // .ci/run installs it: under CI a missing promtool is a failure, as a missing server is.
    if (!promtool && process.env.CI === 'true') throw new Error('promtool is not installed (CI=true: apt-get install prometheus)');
    if (!promtool) return ctx.skip('promtool is not installed (it comes with Prometheus)');
    const dir = fileURLToPath(rulesDir);
    for (const args of [['check', 'rules', 'openhqm-alerts.yaml'], ['test', 'rules', 'openhqm-alerts.test.yaml']]) {
      const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
      expect(run.status, `promtool ${args.join(' ')}:\n${run.stdout}${run.stderr}`).toBe(0);
    }
  });
});

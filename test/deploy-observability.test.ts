/**
 * The Kubernetes manifests point probes and Prometheus only at paths OpenHQM serves: in the
 * container that listens (`api` or `start`, under the configured proxy.capture.control_prefix;
 * `worker` only with monitoring.metrics_port, at the root of that port). Anything else is either nothing (a worker has no listener) or,
 * worse, a captured request queued and forwarded to the application every scrape.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { needKubectl, openhqmContainers as openhqm, openhqmYaml, OVERLAYS, pods, render, type Container } from './helpers/kustomize.js';
import { exportedMetricNames, metricsIn } from './helpers/metric-names.js';

const listens = (c: Container): boolean => ['api', 'start'].includes(c.args?.[0] ?? 'start') || workerListener(c) !== undefined;

/** A worker's own health and metrics listener (monitoring.metrics_port): its port, paths without the control prefix. */
function workerListener(c: Container): number | undefined {
  if (c.args?.[0] !== 'worker') return undefined;
  const port = c.env?.find((e) => e.name === 'OPENHQM_MONITORING__METRICS_PORT')?.value;
  return port === undefined || Number(port) === 0 ? undefined : Number(port);
}

/** An overlay's rendering, with the control prefix its configuration sets. */
function rendered(overlay: string): { docs: ReturnType<typeof render>; prefix: string } {
  const docs = render(overlay);
  const config = parse(openhqmYaml(docs)) as { proxy?: { capture?: { control_prefix?: string } } };
  // The prefix moves the control paths whether or not capture is on.
  return { docs, prefix: config.proxy?.capture?.control_prefix ?? '' };
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s: probes and scrapes reach OpenHQM', (overlay) => {
  /** Where a listening container serves the control paths: under the prefix, or at the root for a worker's listener. */
  const base = (c: Container, prefix: string): string => (workerListener(c) === undefined ? prefix : '');

  it('moves the control paths under a prefix where the application keeps its own /health (sidecar)', (ctx) => {
    if (!needKubectl(ctx)) return;
    expect(rendered(overlay).prefix).toBe(overlay === 'sidecar' ? '/_openhqm' : '');
  });

  it('probes only containers that listen, on control paths under the prefix (a worker’s own listener at the root)', (ctx) => {
    if (!needKubectl(ctx)) return;
    const { docs, prefix } = rendered(overlay);
    let probed = 0;
    for (const { name, template } of pods(docs)) {
      for (const container of openhqm(template.spec?.containers ?? [])) {
        const probes = [container.readinessProbe, container.livenessProbe, container.startupProbe].filter((p) => p?.httpGet !== undefined);
        if (!listens(container)) {
          expect(probes, `${name}/${container.name} runs \`openhqm ${container.args?.[0]}\`, which has no HTTP listener`).toEqual([]);
          continue;
        }
        for (const probe of probes) expect(probe?.httpGet?.path, `${name}/${container.name}`).toMatch(new RegExp(`^${base(container, prefix)}/health/(live|ready)$`));
        probed += probes.length;
      }
    }
    // Manifests without any HTTP probe would pass the checks above unchecked.
    expect(probed).toBeGreaterThan(0);
  });

  it('annotates for Prometheus exactly the pods with a listening OpenHQM container, with its port and the prefixed /metrics', (ctx) => {
    if (!needKubectl(ctx)) return;
    const { docs, prefix } = rendered(overlay);
    let scraped = 0;
    for (const { name, template } of pods(docs)) {
      const annotations = template.metadata?.annotations ?? {};
      const listening = openhqm(template.spec?.containers ?? []).filter(listens);
      if (listening.length === 0) {
        expect(Object.keys(annotations).filter((k) => k.startsWith('prometheus.io/')), `${name} has no OpenHQM listener to scrape`).toEqual([]);
        continue;
      }
      scraped += 1;
      expect(annotations['prometheus.io/scrape'], name).toBe('true');
      expect(annotations['prometheus.io/path'], name).toBe(`${base(listening[0] as Container, prefix)}/metrics`);
      const ports = listening.flatMap((c) => (c.ports ?? []).map((p) => String(p.containerPort)));
      expect(ports, name).toContain(annotations['prometheus.io/port']);
    }
    expect(scraped).toBeGreaterThan(0);
  });
});

describe('deploy/prometheus: the alert rules', () => {
  const rulesDir = new URL('../deploy/prometheus/', import.meta.url);
  const rules = parse(readFileSync(new URL('alerts.yaml', rulesDir), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> };
  const all = rules.groups.flatMap((g) => g.rules);

  it('alert on what issue 16 asks for', () => {
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'OpenHQMRequestsDeadLettered',
        'OpenHQMOldestRequestWaiting',
        'OpenHQMWorkerHeartbeatStale',
        'OpenHQMRequestErrorRate',
        'OpenHQMWebhookDeliveriesFailing',
        'OpenHQMBackendNotReady',
      ]),
    );
  });

  it('use only metrics OpenHQM exports', () => {
    const exported = exportedMetricNames();
    for (const rule of all) {
      const used = metricsIn(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(exported, `${rule.alert} uses ${name}`).toContain(name);
    }
  });

  it('pass promtool check rules and their unit tests (promtool test rules)', (ctx) => {
    if (!needPromtool(ctx)) return;
    const dir = fileURLToPath(rulesDir);
    for (const args of [['check', 'rules', 'alerts.yaml'], ['test', 'rules', 'alerts.test.yaml']]) {
      const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
      expect(run.status, `promtool ${args.join(' ')}:\n${run.stdout}${run.stderr}`).toBe(0);
    }
  });
});

interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  panels?: GrafanaPanel[];
  targets?: Array<{ expr?: string; refId: string }>;
}

describe('deploy/grafana: the dashboard', () => {
  const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/openhqm.json', import.meta.url), 'utf8')) as {
    uid: string;
    panels: GrafanaPanel[];
    templating: { list: Array<{ name: string; query: string | { query: string } }> };
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const queries = [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr ?? '' }))),
    ...dashboard.templating.list.filter((v) => typeof v.query === 'object').map((v) => ({ where: `variable ${v.name}`, expr: (v.query as { query: string }).query })),
  ];

  it('has panels with queries and unique ids', () => {
    expect(panels.length).toBeGreaterThan(10);
    expect(new Set(dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id)).size).toBe(dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).length);
    for (const panel of panels) expect(panel.targets?.length, `panel ${panel.id} "${panel.title}"`).toBeGreaterThan(0);
  });

  it('names only metrics OpenHQM exports, in every panel query', () => {
    const exported = exportedMetricNames();
    const used = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricsIn(expr.replace(/^label_values\(([^,]+),.*\)$/, '$1'));
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported, `${where} names ${name}, which OpenHQM does not export`).toContain(name);
        used.add(name);
      }
    }
    // The check itself: a misspelt name is caught, PromQL's own words are not.
    expect(metricsIn('sum by (queue_name) (rate(openhqm_queue_depht{queue_name="x"}[5m])) offset 1h')).toEqual(['openhqm_queue_depht']);
    // Every OpenHQM metric has a place on the board.
    const ours = [...exported].filter((n) => n.startsWith('openhqm_') && !/_(sum|count)$/.test(n));
    expect(ours.filter((n) => !used.has(n))).toEqual([]);
  });

  it('has queries that parse as PromQL (promtool check rules over them as recording rules)', (ctx) => {
    if (!needPromtool(ctx)) return;
    const dir = mkdtempSync(join(tmpdir(), 'openhqm-grafana-'));
    const recorded = queries
      .filter((q) => !q.expr.startsWith('label_values('))
      .map((q, i) => ({ record: `openhqm:panel_${i}`, expr: q.expr.replaceAll('$__rate_interval', '5m').replaceAll('$queue', '.*') }));
    writeFileSync(join(dir, 'panels.yaml'), stringify({ groups: [{ name: 'panels', rules: recorded }] }));
    const run = spawnSync('promtool', ['check', 'rules', 'panels.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});

/** promtool ships with Prometheus (Debian: apt-get install prometheus); .ci/run installs it, so under CI a missing one fails. */
function needPromtool(ctx: { skip: (note: string) => void }): boolean {
  if (spawnSync('promtool', ['--version']).status === 0) return true;
  if (process.env.CI === 'true') throw new Error('promtool is not installed (CI=true: apt-get install prometheus)');
  ctx.skip('promtool is not installed (it comes with Prometheus)');
  return false;
}

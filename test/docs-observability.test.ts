/**
 * docs/observability.md follows the code: every metric the registry exports, every alert rule,
 * and every span name the tracer makes is documented there; every OTEL variable OpenHQM itself
 * reads is in docs/configuration.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportedMetricNames } from './helpers/metric-names.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('docs/observability.md', () => {
  const doc = read('docs/observability.md');

  it('lists every openhqm_* metric', () => {
    const names = [...exportedMetricNames()].filter((n) => n.startsWith('openhqm_')).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
    for (const name of new Set(names)) expect(doc, name).toContain(`| \`${name}\` |`);
  });

  it('lists every alert rule', () => {
    const rules = parse(read('deploy/prometheus/alerts.yaml')) as { groups: Array<{ rules: Array<{ alert: string }> }> };
    for (const { alert } of rules.groups.flatMap((g) => g.rules)) expect(doc, alert).toContain(`| \`${alert}\` |`);
  });

  it('names every span the tracer makes', () => {
    const source = read('src/observability/tracing.ts');
    // The span names are template literals in startSpan calls: `send ${at.queue}` → `send {queue}`.
    const made = [...source.matchAll(/startSpan\(`([^`]+)`/g)].map((m) => (m[1] as string).replace(/\$\{(?:at\.)?(\w+)\}/g, (_all, name: string) => `{${name === 'method' ? 'METHOD' : name}}`));
    expect(made.length).toBeGreaterThanOrEqual(5);
    for (const name of made) expect(doc, name).toContain(`\`${name}\``);
  });
});

describe('docs/configuration.md', () => {
  it('names every OTEL variable config/tracing.ts reads', () => {
    const doc = read('docs/configuration.md');
    const source = read('src/config/tracing.ts');
    const variables = new Set([...source.matchAll(/'(OTEL_[A-Z_]+)'/g)].map((m) => m[1] as string));
    expect(variables.size).toBeGreaterThanOrEqual(8);
    for (const variable of variables) expect(doc, variable).toContain(`\`${variable}\``);
  });
});

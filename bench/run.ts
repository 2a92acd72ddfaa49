/**
 * `npm run bench [-- --quick] [-- --write] [-- --only sqlite,proxy,routing]`: measures OpenHQM side
 * by side with its anchors in one run on this machine and prints the figures with their
 * ratios. With --write the Markdown table is also written to docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Report } from './lib/report.js';
import { proxyScenario } from './scenarios/proxy.js';
import { routingScenario } from './scenarios/routing.js';
import { sqliteScenario } from './scenarios/sqlite.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
  },
});

const wanted = (name: string): boolean => values.only === undefined || values.only.split(',').includes(name);

const quick = values.quick === true;
const report = new Report();
if (wanted('sqlite')) await sqliteScenario(report, { durationS: quick ? 3 : 10, e2eRequests: quick ? 5_000 : 20_000, connections: 50 });
if (wanted('proxy')) await proxyScenario(report, { durationS: quick ? 3 : 10, connections: 50 });
if (wanted('routing')) await routingScenario(report, { iterations: quick ? 20_000 : 100_000 });
summarize(report);
const markdown = report.markdown(`Benchmarks (${values.backend})`);
process.stdout.write(`\n${markdown}`);
if (values.write === true) writeFileSync(new URL('../docs/benchmarks.md', import.meta.url), `# Benchmarks\n\nProduced by \`npm run bench -- --write\`.\n\n${markdown}`);

function summarize(r: Report): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api');
  const e2e = r.rows.find((row) => row.group === 'end-to-end');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.5× bare Fastify', ratio >= 0.5, `${ratio.toFixed(2)}×`);
    r.target('p99 submit ≤ 10 ms at 50 connections', (api.p99 ?? Infinity) <= 10, `${api.p99?.toFixed(2)} ms`);
    r.target('RSS ≤ 150 MB under submit load', (api.rssMb ?? Infinity) <= 150, `${api.rssMb?.toFixed(0)} MB`);
  }
  if (e2e !== undefined) {
    r.target('end-to-end ≥ 5,000 requests/s', e2e.rate >= 5000, `${Math.round(e2e.rate)} req/s`);
    r.target('RSS ≤ 150 MB end to end', (e2e.rssMb ?? Infinity) <= 150, `${e2e.rssMb?.toFixed(0)} MB`);
  }
}

/**
 * The metric names OpenHQM exports, read from the registry the code builds (every optional
 * gauge switched on), and the metric names a PromQL expression uses: what the alert rules and
 * the Grafana dashboard in deploy/ are checked against.
 */
import { Metrics } from '../../src/observability/metrics.js';

/** Every series name a scrape can show: histograms as their _bucket, _sum and _count. */
export function exportedMetricNames(): Set<string> {
  // As src/app/compose.ts builds it (default process metrics on), with every gauge that waits for a caller.
  const metrics = new Metrics();
  metrics.trackQueue('q', async () => ({ depth: 0, inFlight: 0, deadLettered: 0 }));
  metrics.watchLiveStreams(() => 0);
  metrics.watchBackends(async () => ({}));
  return new Set(metrics.registry.getMetricsAsArray().flatMap((m) => (String(m.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => `${m.name}${s}`) : [m.name])));
}

/** PromQL functions, aggregations and keywords: every other identifier in an expression is a metric. */
const PROMQL_WORDS = new Set([
  ...['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group'],
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'and', 'or', 'unless', 'bool'],
  ...['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'predict_linear', 'resets', 'changes', 'histogram_quantile'],
  ...['abs', 'ceil', 'floor', 'round', 'clamp', 'clamp_min', 'clamp_max', 'time', 'timestamp', 'vector', 'scalar', 'absent', 'absent_over_time'],
  ...['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'label_replace', 'label_join', 'sort', 'sort_desc'],
]);

/**
 * The metric names in `expr`: identifiers left once strings, label matchers, grouping lists,
 * ranges and numbers are taken out, and PromQL's own words. An identifier that is neither a
 * PromQL word nor exported therefore fails the check, prefixed openhqm_ or not.
 */
export function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\$\w+/g, ' ') // Grafana variables ($__rate_interval)
    .replace(/\b\d+(\.\d+)?[smhdwy]?\b/g, ' '); // numbers and durations
  const words = stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((w) => !PROMQL_WORDS.has(w)))];
}

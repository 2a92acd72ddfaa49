/**
 * Counters and histograms for the hot paths (an update per request, per delivery): a labelled
 * series is a plain object made once, and an update is an addition. prom-client's own metrics
 * build, validate and hash the label set on every update (its `labels()` children too), which
 * cost 2–3% of a submit's CPU (D190). These render through prom-client's registry like its own
 * metrics: `get()` answers in the same shape, so /metrics, its format, the cluster aggregation
 * (D151) and the metric names are unchanged.
 *
 * @module
 */

type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/** What prom-client's Registry reads of a metric (registerMetric, metrics(), getMetricsAsJSON()). */
export interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }>;
  reset(): void;
}

export class CounterSeries {
  value = 0;

  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

abstract class Tally<S extends { readonly labels: Labels }> implements RegistryMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  /** The series of these label values, made on first use. Keep it: finding it again costs a key. */
  series(labels: Labels): S {
    const key = this.labelNames.map((name) => labels[name] ?? '').join('\0');
    let series = this.#series.get(key);
    if (series === undefined) {
      series = this.make(Object.fromEntries(this.labelNames.map((name) => [name, labels[name] ?? ''])));
      this.#series.set(key, series);
    }
    return series;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: [...this.#series.values()].flatMap((s) => this.values(s)), aggregator: this.aggregator };
  }

  /** Zeroes every series (the registry's resetMetrics); they stay, since callers keep them. */
  reset(): void {
    for (const series of this.#series.values()) this.zero(series);
  }

  protected abstract make(labels: Labels): S;
  protected abstract zero(series: S): void;
  protected abstract values(series: S): MetricValue[];
}

export class CounterTally extends Tally<CounterSeries> {
  readonly type = 'counter';

  protected make(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }

  protected zero(series: CounterSeries): void {
    series.value = 0;
  }

  protected values(series: CounterSeries): MetricValue[] {
    return [{ labels: series.labels, value: series.value }];
  }
}

export class HistogramTally extends Tally<HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.#bounds = [...buckets].sort((a, b) => a - b);
  }

  protected make(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.#bounds);
  }

  protected zero(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }

  /** As prom-client writes a histogram: cumulative `_bucket`s by `le`, then `+Inf`, `_sum` and `_count`. */
  protected values(series: HistogramSeries): MetricValue[] {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    const values: MetricValue[] = this.#bounds.map((le, i) => {
      cumulative += series.counts[i] as number;
      return { labels: { le, ...series.labels }, value: cumulative, metricName: bucket };
    });
    values.push(
      { labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: bucket },
      { labels: series.labels, value: series.sum, metricName: `${this.name}_sum` },
      { labels: series.labels, value: series.count, metricName: `${this.name}_count` },
    );
    return values;
  }
}

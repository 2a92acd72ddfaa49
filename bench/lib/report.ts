/** Collects benchmark figures and prints them as a Markdown table with ratios to their anchors. */
import { cpus, totalmem } from 'node:os';
import type { LoadResult } from './load.js';

interface Row {
  readonly group: string;
  readonly label: string;
  readonly rate: number;
  readonly unit: string;
  readonly p50?: number;
  readonly p99?: number;
  readonly rssMb?: number;
  readonly ratio?: number;
  readonly note?: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly targets: string[] = [];

  /** `ratioTo`: another load's requests/s; `ratioToRate`: a rate measured otherwise (an anchor's jobs/s). */
  row(group: string, label: string, result: LoadResult, extra: { rssMb?: number; ratioTo?: LoadResult; ratioToRate?: number } = {}): void {
    if (result.non2xx > 0 || result.errors > 0) this.targets.push(`⚠ ${label}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
    this.#warnIfNoneCompleted(label, result);
    this.#add({
      group,
      label,
      rate: result.requestsPerSecond,
      unit: 'req/s',
      p50: result.p50Ms,
      p99: result.p99Ms,
      rssMb: extra.rssMb,
      ratio: extra.ratioTo !== undefined ? result.requestsPerSecond / extra.ratioTo.requestsPerSecond : extra.ratioToRate === undefined ? undefined : result.requestsPerSecond / extra.ratioToRate,
    });
  }

  rate(group: string, label: string, perSecond: number, extra: { unit?: string; rssMb?: number; ratioTo?: number; p50?: number; p99?: number; note?: string } = {}): void {
    this.#add({ group, label, rate: perSecond, unit: extra.unit ?? 'req/s', rssMb: extra.rssMb, p50: extra.p50, p99: extra.p99, note: extra.note, ratio: extra.ratioTo === undefined ? undefined : perSecond / extra.ratioTo });
  }

  /**
   * A load whose every request carries `perRequest` items (a batch submit): the rate in items/s,
   * the latencies per request, the ratio of items/s to `ratioTo`'s requests/s.
   */
  items(group: string, label: string, result: LoadResult, perRequest: number, extra: { rssMb?: number; ratioTo?: LoadResult } = {}): void {
    if (result.non2xx > 0 || result.errors > 0) this.targets.push(`⚠ ${label}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
    this.#warnIfNoneCompleted(label, result);
    const perSecond = result.requestsPerSecond * perRequest;
    this.#add({
      group,
      label,
      rate: perSecond,
      unit: 'items/s',
      p50: result.p50Ms,
      p99: result.p99Ms,
      rssMb: extra.rssMb,
      ratio: extra.ratioTo === undefined ? undefined : perSecond / extra.ratioTo.requestsPerSecond,
    });
  }

  /** Records whether a target was met, for the summary. */
  target(description: string, met: boolean, detail: string): void {
    this.targets.push(`${met ? '✅' : '❌'} ${description}: ${detail}`);
  }

  markdown(title: string): string {
    const header = '| group | measurement | rate | p50 ms | p99 ms | peak RSS MB | ratio |\n|---|---|---:|---:|---:|---:|---:|';
    const lines = this.rows.map(
      (r) =>
        `| ${r.group} | ${r.label}${r.note === undefined ? '' : ` (${r.note})`} | ${fmt(r.rate)} ${r.unit} | ${opt(r.p50)} | ${opt(r.p99)} | ${opt(r.rssMb, 0)} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`} |`,
    );
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}`;
    return [`## ${title}`, '', `Measured ${new Date().toISOString()} on ${machine}.`, '', header, ...lines, '', ...this.targets.map((t) => `- ${t}`), ''].join('\n');
  }

  /** A window in which no request completed reads as 0 with 0 ms latencies: say what it means instead. */
  #warnIfNoneCompleted(label: string, result: LoadResult): void {
    if (result.total === 0) this.targets.push(`⚠ ${label}: no request completed within the ${result.durationS} s window (each takes longer; rate and latencies are not measured)`);
  }

  #add(row: Row): void {
    this.rows.push(row);
    process.stdout.write(`${row.group.padEnd(12)} ${row.label.padEnd(70)} ${fmt(row.rate).padStart(10)} ${row.unit}${row.p99 === undefined ? '' : `  p50 ${opt(row.p50)} ms  p99 ${opt(row.p99)} ms`}${row.rssMb === undefined ? '' : `  rss ${opt(row.rssMb, 0)} MB`}${row.ratio === undefined ? '' : `  ratio ${row.ratio.toFixed(2)}×`}${row.note === undefined ? '' : `  (${row.note})`}\n`);
  }
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

function opt(n: number | undefined, digits = 2): string {
  return n === undefined ? '' : n.toFixed(digits);
}

/**
 * End to end as clients see it, on a fresh `openhqm start` per figure: clients that wait with
 * `?wait=` and get the result in the same call, and clients that submit and then ask
 * `GET /response/{id}?wait=` (autocannon, a fixed number of requests); and the waiting clients
 * once more with wrk for a fixed time, where wrk is installed.
 */
import type { Report } from './report.js';
import { CLIENT_STYLES, LOAD_TOOLS, measureClients, measureWaitingClientsWrk, type ClientStyle } from './measure.js';
import type { Server } from './process.js';

export interface ClientFigures {
  /** Results per second by client style (autocannon). */
  readonly wait: number;
  readonly thenGet: number;
  /** Results per second of ?wait= clients under wrk; undefined without wrk. */
  readonly waitWrk?: number;
}

export interface ClientRowsOptions {
  /** As the labels name it: Redis, PostgreSQL, SQLite. */
  readonly backend: string;
  readonly requests: number;
  readonly connections: number;
  readonly durationS: number;
  /** The anchor's add + process rate, for the ratio; none on SQLite. */
  readonly anchor?: number;
  /** Runs `measure` against a fresh `openhqm start` (and cleans up after it). */
  readonly start: <T>(measure: (server: Server) => Promise<T>) => Promise<T>;
}

export async function clientRows(report: Report, options: ClientRowsOptions): Promise<ClientFigures> {
  const rates: Partial<Record<ClientStyle, number>> = {};
  for (const style of ['wait', 'then-get'] as const) {
    const result = await options.start((server) => measureClients(server, { requests: options.requests, connections: options.connections, style }));
    if (result.unfinished > 0) report.targets.push(`⚠ end to end, ${style} clients: ${result.unfinished} calls did not end with the result`);
    report.rate('end-to-end', `OpenHQM ${options.requests} echo requests, ${CLIENT_STYLES[style]} (openhqm start, ${options.backend}, ${options.connections} clients)`, result.perSecond, {
      p50: result.p50Ms,
      p99: result.p99Ms,
      ...(options.anchor === undefined ? {} : { ratioTo: options.anchor }),
    });
    rates[style] = result.perSecond;
  }
  let waitWrk: number | undefined;
  if (LOAD_TOOLS.includes('wrk')) {
    const result = await options.start((server) => measureWaitingClientsWrk(server, { connections: options.connections, durationS: options.durationS }));
    report.row('end-to-end', `OpenHQM echo requests, ${CLIENT_STYLES.wait} (openhqm start, ${options.backend}, ${options.connections} clients, wrk, ${options.durationS} s)`, result, {
      ...(options.anchor === undefined ? {} : { ratioToRate: options.anchor }),
    });
    waitWrk = result.requestsPerSecond;
  }
  return { wait: rates.wait ?? 0, thenGet: rates['then-get'] ?? 0, ...(waitWrk === undefined ? {} : { waitWrk }) };
}

/**
 * An OTLP/HTTP trace receiver for tests: a real HTTP server on a free port that accepts
 * `POST /v1/traces` as a collector does. JSON bodies (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) are
 * decoded into spans; protobuf bodies are kept raw (the exporter's package has no decoder, and a
 * test can still look for a trace id's bytes in them). Closed after the test file.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll } from 'vitest';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's numbers: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly start: bigint;
  readonly end: bigint;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: number;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  /** The resource's service.name and service.instance.id. */
  readonly service: string;
  readonly instance: string;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
  links?: { traceId: string; spanId: string }[];
}
interface OtlpBody {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(
    servers.splice(0).map(async (s) => {
      s.closeAllConnections();
      s.close();
      await once(s, 'close');
    }),
  );
});

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Bodies sent as protobuf, undecoded. */
  readonly protobuf: Buffer[] = [];
  /** Request paths posted to. */
  readonly paths: string[] = [];
  #port = 0;

  /** What OTEL_EXPORTER_OTLP_ENDPOINT should say. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.paths.push(req.url ?? '');
        if ((req.headers['content-type'] ?? '').includes('json')) this.spans.push(...decode(JSON.parse(body.toString('utf8')) as OtlpBody));
        else this.protobuf.push(body);
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' });
        // An empty ExportTraceServiceResponse in either encoding.
        res.end((req.headers['content-type'] ?? '').includes('json') ? '{}' : '');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as { port: number }).port;
    servers.push(server);
    return this;
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }
}

function decode(body: OtlpBody): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributesOf(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind,
        start: BigInt(s.startTimeUnixNano),
        end: BigInt(s.endTimeUnixNano),
        attributes: attributesOf(s.attributes),
        status: s.status?.code ?? 0,
        links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
        service: String(resource['service.name'] ?? ''),
        instance: String(resource['service.instance.id'] ?? ''),
      })),
    );
  });
}

function attributesOf(list: readonly OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue === undefined ? undefined : Number(value.intValue));
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The drift check: the client's hand-written types (src/types.ts) against the OpenAPI document
 * the server generates. Two links, so neither side can move alone:
 *
 * - compile time: each table below is a `Shape<T>` of a client type — every property of T, no
 *   other, each with the JSON type T gives it — so changing a type without its table fails
 *   `npm run check`;
 * - run time: each table equals the schema the server's document gives that body, so a server
 *   change to a path, a parameter or a schema the client uses fails here, naming the field.
 *
 * packages/client/openapi.json (what the package ships) must also be the document the app
 * generates now: `npm run client:openapi` rewrites it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiDocument, OPENAPI_FILE, render } from '../scripts/openapi.js';
import {
  CALLBACK_EVENTS,
  STATUSES,
  type BatchItem,
  type ErrorBody,
  type RequestBody,
  type ResultBody,
  type StatusBody,
  type SubmitAccepted,
  type SubmitMetadata,
  type SubmitRequest,
  type ThenStep,
  type TrailEntry,
} from '../src/types.js';

/** The JSON type of a TypeScript property type, spelt as `describe` below spells a schema's. */
type Described<T> = unknown extends T
  ? 'unknown'
  : [T] extends [string]
    ? 'string'
    : [T] extends [string | null]
      ? 'string|null'
      : [T] extends [number]
        ? 'number'
        : [T] extends [number | null]
          ? 'number|null'
          : [T] extends [boolean]
            ? 'boolean'
            : [T] extends [number | string]
              ? 'number|string'
              : [T] extends [readonly unknown[]]
                ? 'array'
                : [T] extends [object]
                  ? 'object'
                  : [T] extends [object | null]
                    ? 'object|null'
                    : never;

/** Every property of T (optional ones too), and only those, with its JSON type. */
type Shape<T> = { readonly [K in keyof T]-?: Described<Exclude<T[K], undefined>> };

const shape = <T,>(s: Shape<T>): Readonly<Record<string, string>> => s;

const submitAccepted = { correlation_id: 'string', status: 'string', submitted_at: 'string' } as const;
const statusBody = { correlation_id: 'string', status: 'string', submitted_at: 'string', updated_at: 'string', progress: 'number|null', run_at: 'string|null', next_id: 'string' } as const;
const resultBody = {
  correlation_id: 'string',
  status: 'string',
  result: 'unknown',
  headers: 'object|null',
  status_code: 'number|null',
  error: 'string|null',
  error_code: 'string|null',
  processing_time_ms: 'number|null',
  completed_at: 'string|null',
  next_id: 'string',
} as const;

const SHAPES = {
  submitRequest: shape<SubmitRequest>({ payload: 'object', headers: 'object|null', metadata: 'object|null' }),
  metadata: shape<SubmitMetadata>({
    priority: 'number|string',
    timeout: 'number',
    retry_count: 'number',
    endpoint: 'string|null',
    method: 'string|null',
    queue: 'string',
    partition_key: 'string|null',
    callback_url: 'string|null',
    callback_events: 'array',
    delay: 'number|null',
    run_at: 'string|null',
    then: 'object',
  }),
  then: shape<ThenStep>({ payload: 'object', metadata: 'object|null', queue: 'string' }),
  submitAccepted: shape<SubmitAccepted>(submitAccepted),
  batchItem: shape<BatchItem>({ ...submitAccepted, location: 'string' }),
  statusBody: shape<StatusBody>(statusBody),
  resultBody: shape<ResultBody>(resultBody),
  requestBody: shape<RequestBody>({ ...statusBody, ...resultBody }),
  trailEntry: shape<TrailEntry>({ at: 'string', from: 'string|null', to: 'string', attempt: 'number', worker_id: 'string|null', error: 'string|null', note: 'object', kind: 'string' }),
  errorBody: shape<ErrorBody>({ detail: 'unknown', code: 'string', message: 'string' }),
};

interface Schema {
  readonly type?: string;
  readonly nullable?: boolean;
  readonly anyOf?: readonly Schema[];
  readonly enum?: readonly unknown[];
  readonly items?: Schema;
  readonly properties?: Readonly<Record<string, Schema>>;
}

/** A schema's JSON type: integer is a number to TypeScript; nullable adds null; anyOf joins its members. */
function describeSchema(schema: Schema): string {
  const members = schema.anyOf ?? [schema];
  if (members.some((m) => m.type === undefined)) return 'unknown';
  const types = [...new Set(members.map((m) => (m.type === 'integer' ? 'number' : (m.type as string))))].sort();
  return [...types, ...(schema.nullable === true || members.some((m) => m.nullable === true) ? ['null'] : [])].join('|');
}

function propertiesOf(schema: Schema | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(schema?.properties ?? {}).map(([name, property]) => [name, describeSchema(property)]));
}

interface Operation {
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string }>;
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: Schema }>> };
  readonly responses: Readonly<Record<string, { readonly content?: Readonly<Record<string, { readonly schema: Schema }>> }>>;
}

describe('the client’s types against the OpenAPI document', async () => {
  const live = await openApiDocument();
  const shipped = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, unknown>;
  const paths = shipped.paths as Record<string, Record<string, Operation>>;

  const operation = (method: string, path: string): Operation => {
    const found = paths[path]?.[method];
    if (found === undefined) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document, and the client calls it`);
    return found;
  };
  const json = (op: Operation, status: string): Schema => {
    const schema = op.responses[status]?.content?.['application/json']?.schema;
    if (schema === undefined) throw new Error(`no JSON ${status} answer`);
    return schema;
  };
  const parameters = (op: Operation): string[] => (op.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();

  it('packages/client/openapi.json is the document the app generates now (npm run client:openapi rewrites it)', () => {
    const version = (d: Record<string, unknown>) => ({ ...d, info: { ...(d.info as object), version: '(any)' } });
    expect(render(version(shipped)), 'packages/client/openapi.json is stale: run `npm run client:openapi`').toBe(render(version(live)));
  });

  it('POST /api/v1/submit: its body, its parameters, 202 accepted and 200 with the result', () => {
    const submit = operation('post', '/api/v1/submit');
    const body = submit.requestBody?.content['application/json']?.schema;
    expect(propertiesOf(body)).toEqual(SHAPES.submitRequest);
    expect(propertiesOf(body?.properties?.metadata)).toEqual(SHAPES.metadata);
    expect(propertiesOf(body?.properties?.metadata?.properties?.then)).toEqual(SHAPES.then);
    expect(body?.properties?.metadata?.properties?.callback_events?.items?.enum).toEqual([...CALLBACK_EVENTS]);
    expect(parameters(submit)).toEqual(['header:idempotency-key', 'query:wait']);
    expect(propertiesOf(json(submit, '202'))).toEqual(SHAPES.submitAccepted);
    expect(propertiesOf(json(submit, '200'))).toEqual(SHAPES.resultBody);
    expect(propertiesOf(json(submit, '422'))).toEqual(SHAPES.errorBody);
  });

  it('POST /api/v1/submit/batch: a list of submit bodies in, a list of accepted items out', () => {
    const batch = operation('post', '/api/v1/submit/batch');
    const body = batch.requestBody?.content['application/json']?.schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(['requests']);
    expect(propertiesOf(body?.properties?.requests?.items)).toEqual(SHAPES.submitRequest);
    expect(parameters(batch)).toEqual(['header:idempotency-key']);
    expect(propertiesOf(json(batch, '202').properties?.requests?.items)).toEqual(SHAPES.batchItem);
  });

  it('GET /api/v1/status/{id} and GET /api/v1/response/{id} (with ?wait)', () => {
    const status = operation('get', '/api/v1/status/{correlation_id}');
    expect(parameters(status)).toEqual(['path:correlation_id']);
    expect(propertiesOf(json(status, '200'))).toEqual(SHAPES.statusBody);
    expect(json(status, '200').properties?.status?.enum).toEqual([...STATUSES]);
    expect(propertiesOf(json(status, '404'))).toEqual(SHAPES.errorBody);
    const response = operation('get', '/api/v1/response/{correlation_id}');
    expect(parameters(response)).toEqual(['path:correlation_id', 'query:wait']);
    for (const code of ['200', '202']) expect(propertiesOf(json(response, code))).toEqual(SHAPES.resultBody);
  });

  it('DELETE /api/v1/requests/{id}: the request resource, or 409 naming the status it ended in', () => {
    const cancel = operation('delete', '/api/v1/requests/{correlation_id}');
    expect(propertiesOf(json(cancel, '200'))).toEqual(SHAPES.requestBody);
    expect(propertiesOf(json(cancel, '409'))).toEqual({ ...SHAPES.errorBody, status: 'string' });
  });

  it('GET /api/v1/requests/{id}/events: an event stream, resumable by Last-Event-ID, whose entries are the trail’s', () => {
    const events = operation('get', '/api/v1/requests/{correlation_id}/events');
    expect(parameters(events)).toEqual(['header:last-event-id', 'path:correlation_id']);
    expect(Object.keys(events.responses['200']?.content ?? {})).toContain('text/event-stream');
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['204', '404', '503']));
    const entry = json(events, '200').properties?.events?.items;
    expect(propertiesOf(entry)).toEqual(SHAPES.trailEntry);
    expect(entry?.properties?.to?.enum).toEqual([...STATUSES]);
  });

  it('the credentials the client sends are the document’s security schemes', () => {
    const schemes = (shipped.components as { securitySchemes?: Record<string, Record<string, string>> }).securitySchemes;
    expect(Object.values(schemes ?? {})).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'http', scheme: 'bearer' }), expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' })]),
    );
  });
});

/** OpenAPI (and validation) schemas of the live streams: the SSE form of the trail and the WebSocket endpoint. */

export const EVENT_STREAM_DESCRIPTION =
  'Without `Accept: text/event-stream`: the trail as JSON. With it: a Server-Sent Events stream of the same trail, every past entry first and each new one as it lands ' +
  '(`event: status`, `id:` its sequence number, `data:` the entry as JSON with `correlation_id` and `seq`), `event: progress` while the processor reports progress, ' +
  'and a final `event: result` (id `result`) carrying the GET /api/v1/response/{id} body, after which the stream ends. A comment line every api.sse_heartbeat_seconds keeps proxies from closing it. ' +
  '`Last-Event-ID: n` resumes after entry n; `Last-Event-ID: result` is answered 204 (nothing more to say: EventSource stops reconnecting). ' +
  'Past api.max_streams open streams: 503 with Retry-After.';

/** Accept is not listed: OpenAPI describes it through the response's media types. */
export const eventStreamHeaders = {
  type: 'object',
  properties: {
    'last-event-id': { type: 'string', description: 'Resume the stream after this event id (a sequence number, or `result`). EventSource sends it when it reconnects.' },
  },
} as const;

/** The 200 of the trail route: the JSON trail, or the event stream. */
export function eventsOrStream(json: object) {
  return {
    description: 'The trail (JSON), or its live event stream (text/event-stream).',
    content: {
      'application/json': { schema: json },
      'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events: status, progress and result events, as described above.' } },
    },
  };
}

export const noMoreEvents = {
  description: 'Last-Event-ID was the result event: the stream has nothing more to send.',
  type: 'null',
} as const;

export const WS_DESCRIPTION =
  'Upgrades to a WebSocket (RFC 6455) carrying JSON text messages. The client sends `{"type":"subscribe","ids":[…],"after"?:{"<id>":seq}}` (after: resume past the entries already seen, as Last-Event-ID does for SSE) and `{"type":"unsubscribe","ids":[…]}`, ' +
  'and `{"type":"submit","request":{payload, headers, metadata},"idempotency_key"?,"ref"?}` (the POST /api/v1/submit body; it needs the submit role and follows the same validation, tenant, rate limit and Idempotency-Key rules). ' +
  'It receives for each subscribed id the events of the SSE stream as `{"type":"status"|"note"|"progress"|"result","correlation_id",…}` (a subscription ends with its `result`), ' +
  '`{"type":"accepted","correlation_id","status","submitted_at","ref"}` for a submit, and `{"type":"error","code","detail",…}` for a message it could not act on ' +
  '(an unknown id, or another tenant\'s, is HQM_ERR_NOT_FOUND). Bounds: api.ws_max_subscriptions ids per connection; a client that leaves more than api.ws_max_buffered_bytes unread is closed with 1008; ' +
  'a message larger than api.max_body_bytes (plus 64 KiB) closes it with 1009. Authenticated at the upgrade like every route (read role). Without an upgrade: 426.';

export const wsUpgrade = {
  101: { description: 'Switching Protocols: the connection is now a WebSocket.', type: 'null' },
  426: {
    description: 'Upgrade Required: this endpoint only speaks WebSocket.',
    type: 'object',
    properties: { detail: { type: 'string' }, code: { type: 'string' } },
  },
} as const;

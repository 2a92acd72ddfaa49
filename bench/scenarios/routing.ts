/**
 * Issue #5 figure: what routing costs per message — matching plus the transform — for each
 * transform type, measured in-process on the same message (µs per message).
 */
import { Router } from '../../src/routing/router.js';
import type { Report } from '../lib/report.js';

const MESSAGE = {
  correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f',
  timestamp: '2026-11-22T10:00:00.000Z',
  payload: { order_id: 'o-77', customer: { id: 'c-9', email: 'ada@example.com' }, items: [{ sku: 'A1', qty: 2, unit_price: 10.5 }, { sku: 'B2', qty: 1, unit_price: 4 }] },
  headers: {},
  metadata: { type: 'order.create', tenant: 'acme' },
};

/** Ten routes that do not match come first, as in a real file, then the one that does. */
function routes(transform: Record<string, unknown>) {
  const misses = Array.from({ length: 10 }, (_, i) => ({ name: `miss-${i}`, match_field: 'metadata.type', match_pattern: `^other\\.${i}\\.`, priority: 20, endpoint: 'http://x/' }));
  return { routes: [...misses, { name: 'hit', match_field: 'metadata.type', match_value: 'order.create', priority: 10, endpoint: 'http://x/', header_mappings: { 'X-Order': 'payload.order_id' }, ...transform }] };
}

const CASES: Record<string, Record<string, unknown>> = {
  passthrough: { transform_type: 'passthrough' },
  template: { transform_type: 'template', transform: '{"order": "{{payload.order_id}}", "customer": {{payload.customer}}, "tenant": "{{metadata.tenant}}"}' },
  jsonpath: { transform_type: 'jsonpath', transform: '$.payload.customer' },
  jsonata: { transform_type: 'jsonata', transform: '{"order": payload.order_id, "total": $sum(payload.items.(qty * unit_price)), "items": payload.items.{"sku": sku, "qty": qty}}' },
  jq: { transform_type: 'jq', transform: '{order: .payload.order_id, total: (.payload.items | map(.qty * .unit_price) | add), items: [.payload.items[] | {sku, qty}]}' },
};

export async function routingScenario(report: Report, options: { iterations: number }): Promise<void> {
  for (const [name, transform] of Object.entries(CASES)) {
    const router = await Router.compile(routes(transform));
    const n = name === 'jq' ? Math.max(200, Math.floor(options.iterations / 20)) : options.iterations;
    for (let i = 0; i < Math.min(n, 1000); i += 1) await router.route(MESSAGE); // warm-up
    const started = performance.now();
    for (let i = 0; i < n; i += 1) await router.route(MESSAGE);
    const micros = ((performance.now() - started) * 1000) / n;
    report.rate('routing', `match (11 routes) + ${name} transform`, 1e6 / micros, { unit: 'msg/s', note: `${micros.toFixed(1)} µs per message` });
  }
}

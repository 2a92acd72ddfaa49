/** The original project's documented routing examples, routed by our engine unchanged. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Router } from '../../src/routing/router.js';

const ID = '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f';
const envelope = (payload: Record<string, unknown>, metadata: Record<string, unknown>) => ({ correlation_id: ID, timestamp: '2026-11-22T10:00:00.000Z', payload, headers: {}, metadata });

describe('the original’s documented routing examples', () => {
  let router: Router;
  beforeAll(async () => {
    router = await Router.compile(parse(readFileSync(new URL('../fixtures/routes/original-examples.yaml', import.meta.url), 'utf8')));
  });

  it('user registration: jq reshapes the user, headers from the message', async () => {
    const result = await router.route(envelope({ email: 'ada@example.com', name: 'Ada Lovelace' }, { type: 'user.register', source: 'signup-form' }));
    expect(result).toEqual({
      route_name: 'user-registration',
      endpoint: 'user-service',
      method: 'POST',
      payload: { username: 'ada', email: 'ada@example.com', full_name: 'Ada Lovelace', metadata: { source: 'queue', correlation_id: ID } },
      headers: { 'X-Request-ID': ID, 'X-Source': 'signup-form' },
      query_params: {},
      timeout: 30,
      max_retries: null,
    });
  });

  it('order totals: jq maps the items and sums them, currency defaults to USD', async () => {
    const result = await router.route(
      envelope(
        { order_id: 'o-77', customer: { id: 'c-9' }, items: [{ sku: 'A1', qty: 2, unit_price: 10.5 }, { sku: 'B2', qty: 1, unit_price: 4 }] },
        { type: 'order.create' },
      ),
    );
    expect(result).toMatchObject({
      route_name: 'order-processing',
      endpoint: 'order-service',
      payload: { order_id: 'o-77', customer_id: 'c-9', items: [{ product_id: 'A1', quantity: 2, price: 10.5 }, { product_id: 'B2', quantity: 1, price: 4 }], total: 25, currency: 'USD' },
      headers: { 'X-Order-ID': 'o-77', 'X-Customer-ID': 'c-9' },
    });
  });

  it('notification: matched by regex, built by a template', async () => {
    const result = await router.route(
      envelope({ user: { email: 'bob@example.com' }, subject: 'Hi "Bob"', message: 'Line 1\nLine 2' }, { type: 'notification.email', template: 'welcome' }),
    );
    expect(result).toMatchObject({
      route_name: 'notification',
      endpoint: 'notification-service',
      payload: { recipient: 'bob@example.com', subject: 'Hi "Bob"', body: 'Line 1\nLine 2', template_id: 'welcome', metadata: { correlation_id: ID } },
    });
  });

  it('analytics: JSONPath extracts the event', async () => {
    const event = { type: 'click', user_id: 'u-1', target: 'buy-button' };
    const result = await router.route(envelope({ event }, { type: 'analytics.track' }));
    expect(result).toMatchObject({ route_name: 'analytics', endpoint: 'analytics-service', payload: event, headers: { 'X-Event-Type': 'click', 'X-User-ID': 'u-1' } });
  });

  it('payment: matched on the payload, idempotency key as a query parameter', async () => {
    const result = await router.route(
      envelope({ action: 'payment', amount: 12.5, currency: 'EUR', method: 'card', customer_id: 'c-1', customer_email: 'c@example.com' }, { provider: 'stripe' }),
    );
    expect(result).toMatchObject({
      route_name: 'payment',
      endpoint: 'payment-service',
      payload: { amount: 12.5, currency: 'EUR', payment_method: 'card', customer: { id: 'c-1', email: 'c@example.com' } },
      query_params: { idempotency_key: ID },
      headers: { 'X-Payment-Provider': 'stripe' },
    });
  });

  it('legacy app: passthrough with session headers and overrides', async () => {
    const payload = { action: 'get_cart', user_id: 'user-456' };
    const result = await router.route(envelope(payload, { type: 'legacy.request', session_id: 'sess-789', user_id: 'user-456' }));
    expect(result).toEqual({
      route_name: 'legacy-app-session',
      endpoint: 'legacy-service',
      method: 'POST',
      payload,
      headers: { 'X-Session-ID': 'sess-789', 'X-User-ID': 'user-456' },
      query_params: {},
      timeout: 60,
      max_retries: 1,
    });
  });

  it('anything else: the default route passes the payload through', async () => {
    const result = await router.route(envelope({ x: 1 }, { type: 'something.else' }));
    expect(result).toMatchObject({ route_name: 'default', endpoint: 'default-service', payload: { x: 1 } });
  });
});

describe('the original’s order example as printed', () => {
  it('is refused at load with an error naming the route (it is not valid jq)', async () => {
    const file = parse(readFileSync(new URL('../fixtures/routes/original-examples.yaml', import.meta.url), 'utf8')) as { routes: Array<{ name: string; transform?: string }> };
    const order = file.routes.find((r) => r.name === 'order-processing');
    if (order !== undefined) order.transform = order.transform?.replace('(.payload.currency // "USD")', '.payload.currency // "USD"');
    await expect(Router.compile(file)).rejects.toThrow(/route "order-processing": jq transform does not compile: jq: error: syntax error/);
  });
});

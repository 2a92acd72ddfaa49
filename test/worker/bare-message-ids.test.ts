/** Ids of bare messages: unguessable without the deployment's secret, stable for one message. */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/core/request/envelope.js';
import { correlationIdFor } from '../../src/core/request/ids.js';
import { configSchema } from '../../src/config/schema.js';
import { testApi } from '../helpers/api.js';

describe('correlationIdFor', () => {
  const key = 'openhqm-requests\u00001-1\u00000';

  it('is stable for one key and secret, and differs with another secret', () => {
    expect(correlationIdFor(key, 'secret-of-deployment-a')).toBe(correlationIdFor(key, 'secret-of-deployment-a'));
    expect(correlationIdFor(key, 'secret-of-deployment-a')).not.toBe(correlationIdFor(key, 'secret-of-deployment-b'));
    expect(correlationIdFor(key, 'secret-of-deployment-a')).not.toBe(correlationIdFor('openhqm-requests\u00001-2\u00000', 'secret-of-deployment-a'));
  });

  it('is an RFC 9562 version-8 UUID in lower case', () => {
    expect(correlationIdFor(key, 's')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('queue.id_secret', () => {
  it('is optional, and refused when too short to be a secret', () => {
    expect(configSchema.parse({}).queue.id_secret).toBeNull();
    expect(configSchema.parse({ queue: { id_secret: 'a-long-enough-secret' } }).queue.id_secret).toBe('a-long-enough-secret');
    expect(() => configSchema.parse({ queue: { id_secret: 'short' } })).toThrow(/at least 16 characters/);
  });
});

describe('upper-case ids', () => {
  it('name the same request on every read route: never a false 404', async () => {
    const { app } = await testApi();
    const submitted = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo' } } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    expect(id).toBe(id.toLowerCase());
    const upper = id.toUpperCase();
    for (const url of [`/api/v1/status/${upper}`, `/api/v1/response/${upper}`, `/api/v1/requests/${upper}/events`]) {
      const res = await app.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: url.includes('/response/') ? 202 : 200 });
      expect(res.json<{ correlation_id: string }>().correlation_id).toBe(id);
    }
    const body = await app.inject({ method: 'GET', url: `/api/v1/response/${upper}/body` });
    expect(body.statusCode).toBe(202);
  });

  it('in an envelope an outside producer wrote are stored in lower case', () => {
    const decoded = decodeMessage(JSON.stringify({ correlation_id: '0190D3E4-7F6A-7C3B-9D2E-1A2B3C4D5E6F', payload: {} }), { timeout: 60 });
    expect(decoded).toMatchObject({ kind: 'envelope', envelope: { correlation_id: '0190d3e4-7f6a-7c3b-9d2e-1a2b3c4d5e6f' } });
  });
});

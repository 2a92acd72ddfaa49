import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiAuth, bearer } from '../helpers/auth.js';
import { testApi } from '../helpers/api.js';
import { waitFor } from '../helpers/wait.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'openhqm';
const SECRET = 'a-shared-secret-of-at-least-32-characters!';

interface Claims {
  readonly [claim: string]: unknown;
}

function token(claims: Claims, sign: { alg: string; key: CryptoKey | Uint8Array; kid?: string }, times: { exp?: number | string; nbf?: number | string } = {}): Promise<string> {
  const jwt = new SignJWT({ tenant: 'acme', roles: ['submit'], ...claims })
    .setProtectedHeader({ alg: sign.alg, ...(sign.kid === undefined ? {} : { kid: sign.kid }) })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(times.exp ?? '5m');
  if (times.nbf !== undefined) jwt.setNotBefore(times.nbf);
  return jwt.sign(sign.key);
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Submits with `jwt`; the status code and the challenge. */
async function submitWith(auth: ReturnType<typeof apiAuth>, jwt: string) {
  const api = await testApi({ auth });
  const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(jwt), payload: { payload: {} } });
  return { status: res.statusCode, challenge: res.headers['www-authenticate'], body: res.json<{ detail: string; code: string; correlation_id?: string }>(), api };
}

const secretEncoded = new TextEncoder().encode(SECRET);
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
let rsaPem: string;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  rsaPem = await exportSPKI(rsa.publicKey);
});

const common = { issuer: ISSUER, audience: [AUDIENCE] };

describe('JWT', () => {
  it('accepts HS256 with the secret, and RS256 and ES256 with their public keys; tenant and roles come from the claims', async () => {
    const hs = await submitWith(apiAuth({ jwt: { ...common, secret: SECRET } }), await token({}, { alg: 'HS256', key: secretEncoded }));
    expect(hs.status).toBe(202);
    expect((await hs.api.store.get(hs.body.correlation_id!))?.tenant).toBe('acme');
    const rs = await submitWith(apiAuth({ jwt: { ...common, public_key: rsaPem } }), await token({}, { alg: 'RS256', key: rsa.privateKey }));
    expect(rs.status).toBe(202);
    const es = await submitWith(apiAuth({ jwt: { ...common, public_key: await exportSPKI(ec.publicKey) } }), await token({ tenant: 'globex' }, { alg: 'ES256', key: ec.privateKey }));
    expect(es.status).toBe(202);
    expect((await es.api.store.get(es.body.correlation_id!))?.tenant).toBe('globex');
  });

  it('reads roles as a list or a space-separated string, and tenants from a configured claim path', async () => {
    const auth = apiAuth({ jwt: { ...common, secret: SECRET, tenant_claim: 'org.id', roles_claim: 'scope' } });
    const ok = await submitWith(auth, await token({ org: { id: 'initech' }, scope: 'openid submit' }, { alg: 'HS256', key: secretEncoded }));
    expect(ok.status).toBe(202);
    expect((await ok.api.store.get(ok.body.correlation_id!))?.tenant).toBe('initech');
    const readOnly = await submitWith(auth, await token({ org: { id: 'initech' }, scope: ['read'] }, { alg: 'HS256', key: secretEncoded }));
    expect(readOnly.status).toBe(403);
    const noTenant = await submitWith(auth, await token({ scope: 'submit' }, { alg: 'HS256', key: secretEncoded }));
    expect(noTenant.status).toBe(403);
    expect(noTenant.body.detail).toMatch(/names no tenant/);
  });

  describe('refuses with 401 invalid_token', () => {
    const refusals: Array<[string, () => Promise<{ auth: ReturnType<typeof apiAuth>; jwt: string; reason: RegExp }>]> = [
      ['an expired token', async () => ({ auth: apiAuth({ jwt: { ...common, secret: SECRET } }), jwt: await token({}, { alg: 'HS256', key: secretEncoded }, { exp: now() - 120 }), reason: /expired/ })],
      ['a token not valid yet', async () => ({ auth: apiAuth({ jwt: { ...common, secret: SECRET } }), jwt: await token({}, { alg: 'HS256', key: secretEncoded }, { nbf: now() + 600 }), reason: /not valid yet/ })],
      ['a token of another issuer', async () => ({ auth: apiAuth({ jwt: { ...common, issuer: 'https://other.test', secret: SECRET } }), jwt: await token({}, { alg: 'HS256', key: secretEncoded }), reason: /iss/ })],
      ['a token for another audience', async () => ({ auth: apiAuth({ jwt: { ...common, audience: ['someone-else'], secret: SECRET } }), jwt: await token({}, { alg: 'HS256', key: secretEncoded }), reason: /aud/ })],
      ['a token signed with another secret', async () => ({ auth: apiAuth({ jwt: { ...common, secret: SECRET } }), jwt: await token({}, { alg: 'HS256', key: new TextEncoder().encode(`${SECRET}-but-not-quite`) }), reason: /signature/ })],
      [
        'alg: none',
        async () => {
          const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
          const payload = Buffer.from(JSON.stringify({ tenant: 'acme', roles: ['admin'], iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })).toString('base64url');
          return { auth: apiAuth({ jwt: { ...common, public_key: rsaPem } }), jwt: `${header}.${payload}.`, reason: /algorithm/ };
        },
      ],
      [
        'HS256 "signed" with the RS256 public key as the secret',
        async () => ({ auth: apiAuth({ jwt: { ...common, public_key: rsaPem } }), jwt: await token({ roles: ['admin'] }, { alg: 'HS256', key: new TextEncoder().encode(rsaPem) }), reason: /algorithm/ }),
      ],
      ['an RS256 token where a secret is configured', async () => ({ auth: apiAuth({ jwt: { ...common, secret: SECRET } }), jwt: await token({}, { alg: 'RS256', key: rsa.privateKey }), reason: /algorithm/ })],
      ['a token with a tenant that is no tenant name', async () => ({ auth: apiAuth({ jwt: { ...common, secret: SECRET } }), jwt: await token({ tenant: 'a b/c' }, { alg: 'HS256', key: secretEncoded }), reason: /tenant name/ })],
    ];
    for (const [name, make] of refusals) {
      it(name, async () => {
        const { auth, jwt, reason } = await make();
        const res = await submitWith(auth, jwt);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('HQM_ERR_UNAUTHENTICATED');
        expect(res.body.detail).toMatch(reason);
        expect(res.challenge).toMatch(/^Bearer realm="openhqm", error="invalid_token", error_description="/);
        expect(res.body.detail).not.toContain(jwt);
      });
    }
  });

  it('allows the configured clock skew on exp', async () => {
    const jwt = await token({}, { alg: 'HS256', key: secretEncoded }, { exp: now() - 10 });
    expect((await submitWith(apiAuth({ jwt: { ...common, secret: SECRET, clock_skew_seconds: 60 } }), jwt)).status).toBe(202);
    expect((await submitWith(apiAuth({ jwt: { ...common, secret: SECRET, clock_skew_seconds: 0 } }), jwt)).status).toBe(401);
  });
});

describe('JWT with a JWKS URL', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  /** A key-set server the test controls: which keys it lists, whether it answers, how often it was asked. */
  async function jwksServer(keys: JWK[]) {
    const state = { keys, down: false, fetches: 0 };
    server = createServer((_req, res) => {
      state.fetches += 1;
      if (state.down) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json` };
  }

  async function signingKey(kid: string) {
    const pair = await generateKeyPair('RS256', { extractable: true });
    return { kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' } };
  }

  it('fetches the key set, follows a key rotation (a new kid), and drops a key the server no longer lists', async () => {
    const first = await signingKey('k1');
    const second = await signingKey('k2');
    const jwks = await jwksServer([first.jwk]);
    const auth = apiAuth({ jwt: { ...common, jwks_url: jwks.url, jwks_cooldown_seconds: 0, jwks_refresh_seconds: 3600 } });
    const api = await testApi({ auth });
    const submit = async (key: { kid: string; privateKey: CryptoKey }) =>
      (await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(await token({}, { alg: 'RS256', key: key.privateKey, kid: key.kid })), payload: { payload: {} } })).statusCode;
    expect(await submit(first)).toBe(202);
    expect(jwks.state.fetches).toBe(1);
    expect(await submit(first)).toBe(202);
    expect(jwks.state.fetches).toBe(1); // cached
    // Rotation: the server now lists only the new key; a token with the new kid makes it fetch again.
    jwks.state.keys = [second.jwk];
    expect(await submit(second)).toBe(202);
    expect(jwks.state.fetches).toBe(2);
    // The old key went with that fetch.
    expect(await submit(first)).toBe(401);
  });

  it('keeps the keys it holds while the key set cannot be fetched (stale-while-error); with none held, 503', async () => {
    const key = await signingKey('k1');
    const unknown = await signingKey('k-unknown');
    const jwks = await jwksServer([key.jwk]);
    const auth = apiAuth({ jwt: { ...common, jwks_url: jwks.url, jwks_cooldown_seconds: 0, jwks_refresh_seconds: 1 } });
    const api = await testApi({ auth });
    const submit = async (k: { kid: string; privateKey: CryptoKey }) =>
      api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(await token({}, { alg: 'RS256', key: k.privateKey, kid: k.kid })), payload: { payload: {} } });
    expect((await submit(key)).statusCode).toBe(202);
    jwks.state.down = true;
    // A background refresh has been tried and failed: the set is older than its refresh period.
    await waitFor(() => jwks.state.fetches >= 2, { what: 'a background refresh of the key set' });
    expect((await submit(key)).statusCode).toBe(202);
    // A kid it does not hold makes it ask; the server does not answer: the client is told to come back.
    const res = await submit(unknown);
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('HQM_ERR_AUTH_UNAVAILABLE');
    expect(res.headers['retry-after']).toBeDefined();
    expect((await submit(key)).statusCode).toBe(202);
  });

  it('answers 503, not 401, when the key set was never reachable', async () => {
    const key = await signingKey('k1');
    const jwks = await jwksServer([key.jwk]);
    jwks.state.down = true;
    const res = await submitWith(apiAuth({ jwt: { ...common, jwks_url: jwks.url } }), await token({}, { alg: 'RS256', key: key.privateKey, kid: 'k1' }));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('HQM_ERR_AUTH_UNAVAILABLE');
  });
});

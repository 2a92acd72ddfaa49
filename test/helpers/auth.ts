/**
 * Authentication for API tests, built the way `openhqm start` builds it: an `auth:` section
 * through the real configuration schema, then app/auth.ts.
 */
import { afterEach } from 'vitest';
import type { ApiAuth } from '../../src/api/auth.js';
import { createAuth, type AppAuth } from '../../src/app/auth.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/ports/logger.js';

/** Keys of the tests: one per tenant and role, and an admin without a tenant. */
export const KEYS = {
  acme: 'acme-submit-key-0123456789',
  acmeReader: 'acme-read-key-0123456789ab',
  globex: 'globex-submit-key-01234567',
  admin: 'admin-key-0123456789abcdef',
} as const;

export const TEST_KEYS = [
  { id: 'acme', key: KEYS.acme, tenant: 'acme', roles: ['submit'] },
  { id: 'acme-reader', key: KEYS.acmeReader, tenant: 'acme', roles: ['read'] },
  { id: 'globex', key: KEYS.globex, tenant: 'globex', roles: ['submit'] },
  { id: 'admin', key: KEYS.admin, roles: ['admin'] },
];

const made: AppAuth[] = [];
afterEach(() => {
  for (const auth of made.splice(0)) auth.close();
});

/** app/auth.ts's result for `auth` (enabled, with the test keys unless given). */
export function appAuth(auth: Record<string, unknown> = {}, logger: Logger = silentLogger): AppAuth {
  const config = configSchema.parse({ auth: { enabled: true, api_keys: TEST_KEYS, ...auth } });
  const built = createAuth(config.auth, logger);
  if (built === undefined) throw new Error('auth is off');
  made.push(built);
  return built;
}

/** ApiOptions.auth for `auth`. */
export function apiAuth(auth: Record<string, unknown> = {}, captureRequiresAuth = false): ApiAuth {
  return { ...appAuth(auth).api, captureRequiresAuth };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

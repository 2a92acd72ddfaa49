/**
 * Authentication from configuration (auth.*): the API key ring (inline keys plus the keys
 * file, re-read when it changes), the JWT verifier, and the tenant label of the metrics. Built
 * for every role of the process — a worker needs only the label, whose tenants include those
 * of the keys file.
 *
 * @module
 */
import { parse as parseYaml } from 'yaml';
import { KeyRing, type ApiKeyEntry } from '../auth/api-keys.js';
import { Authenticator } from '../auth/authenticator.js';
import { KeyFileWatcher } from '../auth/key-file.js';
import { JwtVerifier, type JwtKeySource } from '../auth/jwt.js';
import type { ApiAuth } from '../api/auth.js';
import { apiKeyList, type ApiKeyConfig, type Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../ports/logger.js';

type AuthConfig = Config['auth'];

export interface AppAuth {
  readonly api: Omit<ApiAuth, 'captureRequiresAuth'>;
  /** The metric label of a tenant: its name if configured or holding a key, else "other"; "none" for no tenant. */
  readonly tenantLabel: (tenant: string | null) => string;
  close(): void;
}

export function createAuth(config: AuthConfig, logger: Logger): AppAuth | undefined {
  if (!config.enabled) return undefined;
  const inline = inlineKeys(config);
  const ring = new KeyRing(inline);
  let known = knownTenants(config, ring);
  let watcher: KeyFileWatcher | undefined;
  const file = config.api_keys_file;
  if (file !== null) {
    watcher = openKeyFile(file, config.api_keys_reload_seconds * 1000, inline, {
      onReload: (entries) => {
        ring.replace([...inline, ...entries]);
        known = knownTenants(config, ring);
        logger.info({ file, keys: ring.size }, 'API keys reloaded');
      },
      onError: (error) => logger.error({ err: error, file }, 'API keys file not reloaded'),
    });
    ring.replace([...inline, ...watcher.entries]);
    known = knownTenants(config, ring);
  }
  const key = jwtKey(config.jwt);
  const jwt =
    key === undefined
      ? undefined
      : new JwtVerifier(
          {
            key,
            issuer: config.jwt.issuer,
            audience: config.jwt.audience,
            algorithms: config.jwt.algorithms,
            clockSkewSeconds: config.jwt.clock_skew_seconds,
            tenantClaim: config.jwt.tenant_claim,
            rolesClaim: config.jwt.roles_claim,
          },
          (error) => logger.warn({ err: error }, 'JWT key set not refreshed'),
        );
  const authenticator = new Authenticator(ring, jwt);
  return {
    api: { authenticate: (headers) => authenticator.authenticate(headers) },
    tenantLabel: (tenant) => (tenant === null ? 'none' : known.has(tenant) ? tenant : 'other'),
    close: () => {
      watcher?.close();
      authenticator.close();
    },
  };
}

/** Opens (reads) the keys file as start does; a missing or broken file is a configuration error. */
export function openKeyFile(
  file: string,
  pollMs: number,
  inline: readonly ApiKeyEntry[],
  on: { onReload: (entries: readonly ApiKeyEntry[]) => void; onError: (error: Error) => void },
): KeyFileWatcher {
  try {
    return new KeyFileWatcher({ path: file, pollMs, parse: (text) => parseKeyFile(text, inline), ...on });
  } catch (error) {
    throw new ConfigError([{ path: 'auth.api_keys_file', message: `${file}: ${(error as Error).message}` }]);
  }
}

/**
 * The keys of a keys file: a YAML or JSON list of entries like auth.api_keys (or a mapping with
 * `api_keys:`). Problems are named by entry and field, never by value.
 */
export function parseKeyFile(text: string, inline: readonly ApiKeyEntry[] = []): ApiKeyEntry[] {
  const value: unknown = parseYaml(text) ?? [];
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null && Array.isArray((value as { api_keys?: unknown }).api_keys) ? (value as { api_keys: unknown[] }).api_keys : undefined;
  if (list === undefined) throw new Error('expected a list of keys ({id, key_sha256 | key, tenant, roles}), or api_keys: followed by one');
  const parsed = apiKeyList.safeParse(list);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.length === 0 ? 'list' : `entry ${i.path.join('.')}`}: ${i.message}`).join('; '));
  const entries = parsed.data.map(toEntry);
  const clash = entries.find((e) => inline.some((i) => i.id === e.id || i.keySha256 === e.keySha256));
  if (clash !== undefined) throw new Error(`key ${clash.id} is also in auth.api_keys (same id or same key)`);
  return entries;
}

/** The keys given in auth.api_keys. */
export function inlineKeys(config: AuthConfig): ApiKeyEntry[] {
  return config.api_keys.map(toEntry);
}

function toEntry(k: ApiKeyConfig): ApiKeyEntry {
  return { id: k.id, keySha256: k.key_sha256, tenant: k.tenant, roles: k.roles };
}

function knownTenants(config: AuthConfig, ring: KeyRing): ReadonlySet<string> {
  return new Set([...Object.keys(config.tenants), ...ring.tenants()]);
}

function jwtKey(jwt: AuthConfig['jwt']): JwtKeySource | undefined {
  if (jwt.jwks_url !== null) return { kind: 'jwks', url: jwt.jwks_url, refreshMs: jwt.jwks_refresh_seconds * 1000, cooldownMs: jwt.jwks_cooldown_seconds * 1000, timeoutMs: jwt.jwks_timeout_ms };
  if (jwt.public_key !== null) return { kind: 'public_key', pem: jwt.public_key };
  if (jwt.secret !== null) return { kind: 'secret', secret: jwt.secret };
  return undefined;
}

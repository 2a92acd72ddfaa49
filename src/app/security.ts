/**
 * Start-up checks of how exposed the API is: the TLS certificate and key (server.tls), read
 * and matched once, and the warning for an open API on a non-loopback address.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

/** The PEM certificate and key of server.tls, checked to belong together; undefined without TLS. */
export function readTls(tls: Config['server']['tls']): { cert: Buffer; key: Buffer } | undefined {
  if (tls.cert_file === null || tls.key_file === null) return undefined;
  const read = (key: 'cert_file' | 'key_file', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError([{ path: `server.tls.${key}`, message: `cannot read ${file}: ${(error as Error).message}` }]);
    }
  };
  const pair = { cert: read('cert_file', tls.cert_file), key: read('key_file', tls.key_file) };
  try {
    createSecureContext(pair);
  } catch (error) {
    // OpenSSL's message names the problem (bad PEM, key does not match the certificate), not the key.
    throw new ConfigError([{ path: 'server.tls', message: `the certificate and key cannot be used: ${(error as Error).message}` }]);
  }
  return pair;
}

/**
 * The warning to log when anyone who reaches the port may use the API: authentication off on an
 * address other than loopback. 0.0.0.0 stays the default (a container needs it), so it is said.
 */
export function exposureWarning(config: Config): string | undefined {
  if (config.auth.enabled || isLoopback(config.server.host)) return undefined;
  return `auth.enabled is off and the API listens on ${config.server.host}: anyone who can reach it can submit and read every result. Turn auth on (docs/security.md) or bind to 127.0.0.1.`;
}

function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIPv4(h) && h.startsWith('127.'));
}

/**
 * A copy of the configuration safe to print or log. A value is masked when its name — a
 * configuration key, a header name (an endpoint's static `headers`), a URL query parameter —
 * names a credential (see `isCredentialName`); in every URL, the password of the userinfo (or
 * a username that stands alone, as tokens often do) and the values of credential query
 * parameters are masked too.
 *
 * @module
 */
const MASK = '****';

/** Configuration keys whose values are secrets, from before the name rule (kept: it names some the words miss). */
const SECRET_KEY = /(password|passwd|secret|token|api_?key|credential|connection_string|private_key|_sha256$)/i;

/** A word anywhere in the name makes it a credential: `auth_token`, `X-Amz-Security-Token`, `set-cookie`. */
const CREDENTIAL_WORDS = new Set(['authorization', 'token', 'secret', 'password', 'passwd', 'pwd', 'passphrase', 'credential', 'credentials', 'cookie', 'signature', 'apikey', 'jwt', 'bearer', 'session', 'sessionid']);
/** As the last word only: `x-api-key`, `access_key`, `x-auth`, `sig` — but not `key_prefix`. */
const CREDENTIAL_LAST_WORDS = new Set(['key', 'auth', 'sig', 'sid']);
/** A last word that makes the name describe a secret without holding one: `gcp_credentials_path`, `auth_header_name`, `partition_key_field`. */
const NOT_A_SECRET = new Set(['path', 'file', 'name', 'type', 'field', 'fields', 'prefix', 'ttl', 'username', 'user', 'header']);

/** Whether a key, header or query parameter name can carry a credential. */
export function isCredentialName(name: string): boolean {
  const words = (name.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+/g) ?? []).map((w) => w.toLowerCase());
  const last = words.at(-1);
  if (last === undefined || NOT_A_SECRET.has(last)) return false;
  return words.some((w) => CREDENTIAL_WORDS.has(w)) || CREDENTIAL_LAST_WORDS.has(last) || SECRET_KEY.test(name);
}

export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (value !== '' && isCredentialName(key)) return MASK;
    return maskUrlSecrets(value);
  }
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

/** The credentials of every URL in `text` (a URL, or a comma-separated list of them) masked. */
export function maskUrlSecrets(text: string): string {
  if (!text.includes('://')) return text;
  return maskUrlPassword(text).replace(/([?&;])([^=&#\s,]+)=([^&#\s,]*)/g, (whole, sep: string, name: string) =>
    isCredentialName(safeDecode(name)) ? `${sep}${name}=${MASK}` : whole,
  );
}

/** redis://user:secret@host → redis://user:****@host, https://tok3n@host → https://****@host, in each URL of a comma-separated list (cluster seeds). */
export function maskUrlPassword(text: string): string {
  return text
    .replace(/(^|,\s*)([a-z][a-z0-9+.-]*:\/\/[^:/@\s,]*:)([^@/\s,]+)@/gi, `$1$2${MASK}@`)
    .replace(/(^|,\s*)([a-z][a-z0-9+.-]*:\/\/)([^:/@\s,]+)@/gi, `$1$2${MASK}@`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A copy of the configuration safe to print or log: values of secret-looking keys are masked,
 * and so is the password part of any URL.
 *
 * @module
 */
const SECRET_KEY = /(password|passwd|secret|token|api_?key|credential|connection_string|private_key|^key$|_sha256$)/i;
const MASK = '****';

export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (value !== '' && SECRET_KEY.test(key) && !key.endsWith('_path') && !key.endsWith('_file') && !key.endsWith('_header_name')) return MASK;
    return maskUrlPassword(value);
  }
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

/** redis://user:secret@host:6379 → redis://user:****@host:6379, in each URL of a comma-separated list (cluster seeds). */
export function maskUrlPassword(text: string): string {
  return text.replace(/(^|,\s*)([a-z][a-z0-9+.-]*:\/\/[^:/@\s,]*:)([^@/\s,]+)@/gi, `$1$2${MASK}@`);
}

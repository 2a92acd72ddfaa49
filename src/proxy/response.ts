/**
 * What an upstream answer becomes in the result, as the original stores it: JSON parsed,
 * text as `{response, content_type}`, and — beyond the original, which mangled it — binary
 * kept exactly as `{response: <base64>, content_type, encoding: "base64"}`.
 *
 * @module
 */
import { utf8Text } from '../core/http.js';

const TEXTUAL = /^(text\/|application\/(.+\+)?(xml|javascript|ecmascript|x-www-form-urlencoded|graphql|yaml|x-yaml|csv|x-ndjson))/i;

export function interpretBody(contentType: string, body: Buffer): unknown {
  if (/[/+]json\b/i.test(contentType)) {
    const text = utf8Text(body);
    if (text !== undefined) {
      try {
        return text.trim() === '' ? null : (JSON.parse(text) as unknown);
      } catch {
        // Labelled JSON but is not: kept as text below.
      }
    }
  }
  if (body.length === 0 || TEXTUAL.test(contentType) || /charset=/i.test(contentType)) {
    const text = utf8Text(body);
    if (text !== undefined) return { response: text, content_type: contentType };
  }
  const text = contentType === '' ? utf8Text(body) : undefined;
  if (text !== undefined) return { response: text, content_type: contentType };
  return { response: body.toString('base64'), content_type: contentType, encoding: 'base64' };
}

/** Retry-After in milliseconds (seconds or an HTTP date), or null. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

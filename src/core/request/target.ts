/**
 * The request target of a captured request, made safe to append to an endpoint's base path.
 *
 * The upstream URL is `<base path><captured path>`, parsed by the WHATWG URL parser (as undici
 * does): it reads `\` as `/` and resolves `.`/`..` segments, `%2e` spellings included. The
 * application behind it may decode once more — `%2f` as `/`, `%252e` as `%2e` — and resolve
 * again. So a path is refused when ANY of those readings climbs above its own root: as sent,
 * and after each round of percent-decoding, with `/` and `\` both separators, empty segments
 * collapsed (as many servers merge slashes) and a segment read up to a `;` or NUL (as Tomcat
 * reads `..;x`). What is accepted is stored as the WHATWG parser normalises it, so the record
 * shows the path the upstream will see.
 *
 * @module
 */
import { HqmError } from '../errors.js';

/** Rounds of percent-decoding looked through (`%25252e` is three); a path nested deeper is refused. */
export const MAX_DECODINGS = 4;

export interface CapturedTarget {
  /** Normalised: dot segments resolved, `\` as `/`, characters a URL cannot carry percent-encoded. */
  readonly path: string;
  /** As sent, without the `?`. */
  readonly query: string;
}

/**
 * Splits an origin-form request target (`/path?query`) and checks its path; throws
 * HQM_ERR_UNSAFE_PATH for any other form (absolute-form `http://host/x`, asterisk-form `*`, a
 * fragment) or a path that may leave the base path.
 */
export function capturedTarget(target: string): CapturedTarget {
  if (!target.startsWith('/')) {
    throw unsafe(target === '*' ? 'the asterisk-form request target "*" names no path to forward' : 'only a path (origin-form, "/…") can be forwarded, not an absolute URL', target);
  }
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  if (path.includes('#')) throw unsafe('a request target cannot carry a fragment ("#")', path);
  return { path: safePath(path), query: at < 0 ? '' : target.slice(at + 1) };
}

/** The normalised path, or HQM_ERR_UNSAFE_PATH when some reading of it climbs above its root. */
export function safePath(path: string): string {
  const problem = pathProblem(path);
  if (problem !== undefined) throw unsafe(problem, path);
  return normalisePath(path);
}

/** Why `path` cannot be appended to a base path, or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'the path must start with "/"';
  let reading = path;
  for (let round = 0; ; round++) {
    if (climbsAboveRoot(reading)) {
      return round === 0 ? 'the path climbs above its root ("..")' : 'the path climbs above its root once percent-decoded ("..", "%2e%2e", "%2f", "%5c")';
    }
    const decoded = decodeAscii(reading);
    if (decoded === reading) return undefined;
    if (round === MAX_DECODINGS) return `the path is percent-encoded more than ${MAX_DECODINGS} times over`;
    reading = decoded;
  }
}

/** The path as the WHATWG URL parser leaves it (what undici sends). */
export function normalisePath(path: string): string {
  const url = new URL('http://base.invalid');
  url.pathname = path;
  return url.pathname;
}

function climbsAboveRoot(reading: string): boolean {
  let depth = 0;
  for (const raw of reading.split(/[/\\]/)) {
    const segment = raw.split(/[;\0]/, 1)[0] as string;
    if (segment === '..') {
      depth -= 1;
      if (depth < 0) return true;
    } else if (segment !== '.' && segment !== '') {
      depth += 1;
    }
  }
  return false;
}

/** One round of decoding, of ASCII escapes only: only they can spell a separator, a dot or another escape. */
function decodeAscii(text: string): string {
  return text.replace(/%([0-7][0-9a-f])/gi, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function unsafe(reason: string, target: string): HqmError {
  return new HqmError('HQM_ERR_UNSAFE_PATH', `${reason}: ${JSON.stringify(target.length > 200 ? `${target.slice(0, 200)}…` : target)}`, { details: { reason } });
}

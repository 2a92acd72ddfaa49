/**
 * Template transforms: a JSON text with `{{dotted.path}}` placeholders. The template is split
 * once at load; each placeholder knows whether it sits inside a JSON string, so values are
 * inserted JSON-safely — inside a string as escaped text, elsewhere as JSON (a string gains
 * its quotes, an object stays an object). (The original pasted raw text, so a quote in a value
 * broke the JSON.)
 *
 * Inside a string a value reads as the original wrote it with Python's str(): `True`/`False`
 * for booleans, and `null` for a missing or null value (the original's None became "null").
 * Outside a string they stay JSON (`true`, `null`), which the original could not parse.
 *
 * The text is measured while it is built: a template that repeats a large value thousands of
 * times fails as soon as it passes routing.max_transform_output_bytes, not after building it.
 *
 * @module
 */
import { getPath } from '../../core/paths.js';
import { assertOutputWithin } from './output-size.js';
import { OutputTooLargeError, TransformCompileError, type Transform } from './types.js';

type Part = { readonly text: string } | { readonly path: string; readonly inString: boolean };

export function compileTemplate(template: string): Transform {
  const parts = split(template);
  try {
    JSON.parse(render(parts, {}, Number.POSITIVE_INFINITY));
  } catch (error) {
    throw new TransformCompileError(`the template is not JSON once filled in: ${(error as Error).message}`);
  }
  return async (message, ctx) => JSON.parse(render(parts, message, ctx.maxOutputBytes)) as unknown;
}

function render(parts: readonly Part[], message: unknown, maxBytes: number): string {
  const pieces: string[] = [];
  let bytes = 0;
  for (const part of parts) {
    const left = maxBytes - bytes;
    const piece = 'text' in part ? part.text : insert(getPath(message, part.path), part.inString, left, maxBytes);
    // UTF-8 takes at least a byte per UTF-16 unit: a longer piece is over without measuring it.
    bytes += piece.length > left ? piece.length : Buffer.byteLength(piece);
    if (bytes > maxBytes) throw new OutputTooLargeError(maxBytes);
    pieces.push(piece);
  }
  return pieces.join('');
}

/** The placeholder's text; `left` is what remains of the cap, `cap` the whole of it. */
function insert(value: unknown, inString: boolean, left: number, cap: number): string {
  if (typeof value === 'object' && value !== null) assertOutputWithin(value, left, cap);
  if (!inString) return value === undefined ? 'null' : (JSON.stringify(value) ?? 'null');
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string' && value.length > left) throw new OutputTooLargeError(cap);
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return JSON.stringify(text).slice(1, -1);
}

/** Splits the template into literal text and placeholders, tracking JSON string context. */
function split(template: string): Part[] {
  const parts: Part[] = [];
  let inString = false;
  let text = '';
  for (let i = 0; i < template.length; i += 1) {
    const ch = template[i] as string;
    if (ch === '{' && template[i + 1] === '{') {
      const end = template.indexOf('}}', i + 2);
      if (end < 0) throw new TransformCompileError(`unclosed "{{" at position ${i}`);
      const path = template.slice(i + 2, end).trim();
      if (path === '') throw new TransformCompileError(`empty placeholder at position ${i}`);
      parts.push({ text }, { path, inString });
      text = '';
      i = end + 1;
      continue;
    }
    if (ch === '\\' && inString) {
      text += ch + (template[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (ch === '"') inString = !inString;
    text += ch;
  }
  parts.push({ text });
  return parts;
}

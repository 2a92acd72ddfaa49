/**
 * Template transforms: a JSON text with `{{dotted.path}}` placeholders. The template is split
 * once at load; each placeholder knows whether it sits inside a JSON string, so values are
 * inserted JSON-safely — inside a string as escaped text, elsewhere as JSON (a string gains
 * its quotes, an object stays an object). A missing value is `null`, or empty inside a string.
 * (The original pasted raw text, so a quote in a value broke the JSON.)
 *
 * @module
 */
import { getPath } from '../../core/paths.js';
import { TransformCompileError, type Transform } from './types.js';

type Part = { readonly text: string } | { readonly path: string; readonly inString: boolean };

export function compileTemplate(template: string): Transform {
  const parts = split(template);
  const render = (message: unknown): string => parts.map((part) => ('text' in part ? part.text : insert(getPath(message, part.path), part.inString))).join('');
  try {
    JSON.parse(render({}));
  } catch (error) {
    throw new TransformCompileError(`the template is not JSON once filled in: ${(error as Error).message}`);
  }
  return async (message) => JSON.parse(render(message)) as unknown;
}

function insert(value: unknown, inString: boolean): string {
  if (!inString) return value === undefined ? 'null' : (JSON.stringify(value) ?? 'null');
  if (value === undefined || value === null) return '';
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

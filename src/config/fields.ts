/**
 * Field builders for the configuration schema. Every value may arrive as a string (from an
 * environment variable or a flag), so each builder accepts the string form too and turns it
 * into its type, with an error message that shows what was given.
 *
 * @module
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The value as the user wrote it: strings quoted, lists and mappings as JSON (never "[object Object]"). */
function shown(input: unknown): string {
  if (typeof input === 'object' && input !== null) {
    try {
      return JSON.stringify(input);
    } catch {
      return Array.isArray(input) ? 'a list' : 'a mapping'; // A YAML alias cycle.
    }
  }
  return typeof input === 'string' ? JSON.stringify(input) : String(input);
}

function numeric(value: unknown): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const n = Number(value.trim());
  return Number.isNaN(n) ? value : n;
}

export const num = () => z.preprocess(numeric, z.number({ error: (i) => `expected a number, got ${shown(i.input)}` }));

export const int = () =>
  z.preprocess(numeric, z.number({ error: (i) => `expected a whole number, got ${shown(i.input)}` }).int({ error: (i) => `expected a whole number, got ${shown(i.input)}` }));

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export const bool = () =>
  z.preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      const v = value.trim().toLowerCase();
      return TRUE.has(v) ? true : FALSE.has(v) ? false : value;
    },
    z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` }),
  );

export const str = () => z.string({ error: (i) => `expected a string, got ${shown(i.input)}` });

/** A string that may be left empty to mean "not set". */
export const optionalStr = () =>
  z.preprocess((v) => (v === '' ? null : v), str().nullable()).default(null);

/** A list: YAML/JSON array, or a comma-separated string from the environment. */
export const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    const text = value.trim();
    if (text.startsWith('[')) return parseStructured(text);
    return text === '' ? [] : text.split(',').map((s) => s.trim());
  }, z.array(item));

/** An object given inline: YAML/JSON text from the environment, or a mapping in the file. */
export const structured = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (typeof value === 'string' ? parseStructured(value) : value), schema);

/** YAML/JSON text as a value; text that does not parse is returned as is, for the schema to refuse. */
export function parseStructured(text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch {
    return text; // Left as a string, so the schema reports it as the wrong type.
  }
}

/**
 * Loads the configuration once, at the edge: defaults < YAML file (`--config` or
 * OPENHQM_CONFIG) < environment (OPENHQM_SECTION__KEY) < command-line flags. `${VAR}` in the
 * file is replaced from the environment and any `<key>_file` names a file whose content becomes
 * `<key>` (for secrets mounted as files). The result is validated in one pass, so the error
 * names every bad key and where its value came from, and then deep-frozen.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type FieldIssue } from '../core/errors.js';
import { configSchema, type Config } from './schema.js';
import { tracingSettings, type TracingSettings } from './tracing.js';

export const ENV_PREFIX = 'OPENHQM_';

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wins over OPENHQM_CONFIG. */
  readonly configPath?: string;
  /** Nested values from command-line flags; they win over everything else. */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** Problems the caller found in the sources it read itself (a malformed --set), reported first, with the rest. */
  readonly issues?: readonly FieldIssue[];
  /**
   * The queue backends and result stores there are (the registries, which only src/app reads):
   * an unknown queue.type or cache.type is then one more problem of the same message.
   */
  readonly backends?: Readonly<Record<'queue' | 'cache', readonly string[]>>;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, if any. */
  readonly file: string | undefined;
  /** Tracing, from the standard OTEL_* variables of the same environment (config/tracing.ts). */
  readonly tracing: TracingSettings;
}

type Tree = Record<string, unknown>;

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const issues: FieldIssue[] = [...(options.issues ?? [])];
  const sources = new Map<string, string>();
  const merged: Tree = {};
  const file = options.configPath ?? nonEmpty(env.OPENHQM_CONFIG);

  if (file !== undefined) {
    const tree = readConfigFile(file, env, issues);
    if (tree !== undefined) mergeInto(merged, tree, [], `config file ${file}`, sources);
  }
  mergeInto(merged, envTree(env, issues), [], 'environment', sources, (path) => envName(path));
  if (options.overrides !== undefined) mergeInto(merged, options.overrides, [], 'command line', sources);
  resolveFileReferences(merged, [], issues);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue, merged, sources)));
  if (options.backends !== undefined) issues.push(...unknownBackends(merged, options.backends, sources));
  const tracing = tracingSettings(env, issues);
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return { config: deepFreeze(parsed.data), file, tracing: deepFreeze(tracing) };
}

/**
 * OPENHQM_SERVER__PORT=8080 → { server: { port: '8080' } }. Names are case-insensitive. Two
 * variables for one setting (OPENHQM_X__Y and openhqm_x__y, or OPENHQM_X__Y and
 * OPENHQM_X__Y__Z) are reported: which one won would depend on the order of the environment.
 */
function envTree(env: Readonly<Record<string, string | undefined>>, issues: FieldIssue[]): Tree {
  const tree: Tree = {};
  const setBy = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toUpperCase().startsWith(ENV_PREFIX) || !name.includes('__')) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    if (path.some((part) => part === '')) continue;
    const key = path.join('.');
    const clash = [...setBy].find(([other]) => other === key || other.startsWith(`${key}.`) || key.startsWith(`${other}.`));
    if (clash !== undefined) {
      const [other, otherName] = clash;
      const [outer, inner] = other.length <= key.length ? [otherName, name] : [name, otherName];
      const message = other === key ? `set by both ${outer} and ${inner}; keep one` : `set by ${outer}, and ${inner} sets a key inside it; keep one`;
      issues.push({ path: other.length <= key.length ? other : key, message });
      continue;
    }
    setBy.set(key, name);
    setPath(tree, path, value);
  }
  return tree;
}

function envName(path: readonly string[]): string {
  return `${ENV_PREFIX}${path.join('__').toUpperCase()}`;
}

function readConfigFile(file: string, env: LoadOptions['env'] & object, issues: FieldIssue[]): Tree | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    issues.push({ path: '', message: `cannot read config file ${file}: ${(error as Error).message}` });
    return undefined;
  }
  let value: unknown;
  try {
    value = parseYaml(text) ?? {};
  } catch (error) {
    issues.push({ path: '', message: `config file ${file} is not valid YAML: ${(error as Error).message}` });
    return undefined;
  }
  if (!isTree(value)) {
    issues.push({ path: '', message: `config file ${file} must hold a mapping of sections` });
    return undefined;
  }
  return interpolate(value, [], env, issues) as Tree;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string of the file. */
function interpolate(value: unknown, path: string[], env: Readonly<Record<string, string | undefined>>, issues: FieldIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      issues.push({ path: path.join('.'), message: `environment variable ${name} is not set (write \${${name}:-default} for a fallback)` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, [...path, String(i)], env, issues));
  if (isTree(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], env, issues)]));
  return value;
}

/**
 * `auth_token_file: /run/secrets/token` → `auth_token: <file content, trimmed>`, in mappings and
 * in lists of them (`auth.api_keys[n].key_file`). A `*_file` key the schema itself declares
 * (`auth.api_keys_file`, `server.tls.cert_file`) is a path the program reads, and stays one.
 */
function resolveFileReferences(tree: Tree, path: string[], issues: FieldIssue[]): void {
  for (const [key, value] of Object.entries(tree)) {
    if (isTree(value)) {
      resolveFileReferences(value, [...path, key], issues);
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isTree(item)) resolveFileReferences(item, [...path, key, String(i)], issues);
      });
      continue;
    }
    const inline = typeof value === 'string' ? inlineWithFileReferences(value) : undefined;
    if (inline !== undefined) {
      // A list or mapping given as text (OPENHQM_AUTH__API_KEYS='[{"key_file": …}]') resolves like one in the file.
      tree[key] = inline;
      resolveFileReferences({ [key]: inline }, path, issues);
      continue;
    }
    if (!key.endsWith('_file') || typeof value !== 'string' || schemaAt([...path, key]) !== undefined) continue;
    delete tree[key];
    try {
      tree[key.slice(0, -'_file'.length)] = readFileSync(value, 'utf8').trim();
    } catch (error) {
      issues.push({ path: [...path, key].join('.'), message: `cannot read ${value}: ${(error as Error).message}` });
    }
  }
}

/** `value` parsed, when it is the text of a list or mapping that holds a `*_file` key; else undefined. */
function inlineWithFileReferences(value: string): unknown[] | Tree | undefined {
  const text = value.trim();
  if (!(text.startsWith('[') || text.startsWith('{')) || !/_file["']?\s*:/.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    return undefined; // The schema reports it.
  }
  return Array.isArray(parsed) || isTree(parsed) ? parsed : undefined;
}

function mergeInto(
  target: Tree,
  source: Tree,
  path: string[],
  origin: string,
  sources: Map<string, string>,
  name: (path: readonly string[]) => string = () => '',
): void {
  for (const [key, value] of Object.entries(source)) {
    const here = [...path, key];
    if (isTree(value)) {
      if (!isTree(target[key])) {
        target[key] = {};
        forget(sources, here); // The value an earlier source gave is gone.
      }
      // An empty mapping has no value to name its source by, so it is named itself.
      if (Object.keys(value).length === 0) sources.set(here.join('.'), origin);
      mergeInto(target[key] as Tree, value, here, origin, sources, name);
    } else {
      target[key] = value;
      forget(sources, here);
      const label = name(here);
      sources.set(here.join('.'), label === '' ? origin : `${origin} ${label}`);
    }
  }
}

/**
 * queue.type and cache.type against the names given. Each is parsed on its own, so it is
 * checked even when another key made the whole configuration fail.
 */
function unknownBackends(merged: Tree, known: NonNullable<LoadOptions['backends']>, sources: Map<string, string>): FieldIssue[] {
  return (['queue', 'cache'] as const).flatMap((section) => {
    const path = [section, 'type'];
    const checked = (schemaAt(path) as z.ZodType | undefined)?.safeParse(valueAt(merged, path));
    // A value the schema refused is reported already.
    if (checked?.success !== true || typeof checked.data !== 'string' || known[section].includes(checked.data)) return [];
    return [{ path: path.join('.'), message: `unknown backend "${checked.data}" (available: ${known[section].join(', ')})${from(path, sources)}` }];
  });
}

/** Removes where the value at `path`, and any key inside it, came from. */
function forget(sources: Map<string, string>, path: readonly string[]): void {
  const key = path.join('.');
  for (const known of sources.keys()) if (known === key || known.startsWith(`${key}.`)) sources.delete(known);
}

/**
 * One problem per key given, named by its full path: an unknown section or a value nested under
 * a setting that takes one value is reported at each key the user wrote (OPENHQM_FOO__BAR is
 * `foo.bar`), so the message can say which variable or file line set it.
 */
function describeIssue(issue: z.core.$ZodIssue, merged: Tree, sources: Map<string, string>): FieldIssue[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.flatMap((key) => {
      const full = [...path, key];
      const hint = suggest(key, knownKeys(path));
      const what = path.length === 0 ? 'unknown section' : 'unknown key';
      return leaves(full, valueAt(merged, full)).map((leaf) => ({
        path: leaf.join('.'),
        message: `${what}${leaf.length > full.length ? ` "${full.join('.')}"` : ''}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}${from(leaf, sources)}`,
      }));
    });
  }
  const value = valueAt(merged, path);
  if (isTree(value) && Object.keys(value).length > 0 && containerOf(schemaAt(path)) === undefined) {
    return leaves(path, value).map((leaf) => ({
      path: leaf.join('.'),
      message: `${path.join('.')} takes one value, not keys inside it${from(leaf, sources)}`,
    }));
  }
  return [{ path: path.join('.'), message: `${issue.message}${from(path, sources)}` }];
}

/** The paths of the values under `path` (itself, when it holds one value or an empty mapping). */
function leaves(path: readonly string[], value: unknown): string[][] {
  if (!isTree(value) || Object.keys(value).length === 0) return [[...path]];
  return Object.entries(value).flatMap(([key, child]) => leaves([...path, key], child));
}

function valueAt(tree: Tree, path: readonly string[]): unknown {
  let node: unknown = tree;
  for (const part of path) node = isTree(node) ? node[part] : undefined;
  return node;
}

function from(path: readonly string[], sources: Map<string, string>): string {
  for (let n = path.length; n > 0; n -= 1) {
    const source = sources.get(path.slice(0, n).join('.'));
    if (source !== undefined) return ` (from ${source})`;
  }
  return '';
}

function knownKeys(path: readonly string[]): string[] {
  const container = containerOf(schemaAt(path));
  return container?.type === 'object' ? Object.keys(container.shape) : [];
}

/** The schema of the value at `path`, through sections and mappings (proxy.endpoints.<name>). */
function schemaAt(path: readonly string[]): unknown {
  let schema: unknown = configSchema;
  for (const part of path) {
    const container = containerOf(schema);
    schema = container?.type === 'object' ? container.shape[part] : container?.valueType;
  }
  return schema;
}

type Container = { type: 'object'; shape: Record<string, unknown> } | { type: 'record'; valueType: unknown };

/** The object (a section) or record (a mapping) behind defaults, pipes and refinements, if any. */
function containerOf(schema: unknown, depth = 0): Container | undefined {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
  if (def === undefined || depth > 8) return undefined;
  if (def.type === 'object') return { type: 'object', shape: def.shape as Record<string, unknown> };
  if (def.type === 'record') return { type: 'record', valueType: def.valueType };
  // A pipe is either a check before the value (str().pipe(…)) or a preprocess before it (structured()).
  for (const inner of [def.innerType, def.in, def.out, def.schema]) {
    const found = containerOf(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function suggest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (!isTree(next)) node[part] = {};
    node = node[part] as Tree;
  }
  node[path[path.length - 1] as string] = value;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

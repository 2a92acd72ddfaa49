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

export const ENV_PREFIX = 'OPENHQM_';

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wins over OPENHQM_CONFIG. */
  readonly configPath?: string;
  /** Nested values from command-line flags; they win over everything else. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, if any. */
  readonly file: string | undefined;
}

type Tree = Record<string, unknown>;

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const issues: FieldIssue[] = [];
  const sources = new Map<string, string>();
  const merged: Tree = {};
  const file = options.configPath ?? nonEmpty(env.OPENHQM_CONFIG);

  if (file !== undefined) {
    const tree = readConfigFile(file, env, issues);
    if (tree !== undefined) mergeInto(merged, tree, [], `config file ${file}`, sources);
  }
  mergeInto(merged, envTree(env), [], 'environment', sources, (path) => envName(path));
  if (options.overrides !== undefined) mergeInto(merged, options.overrides, [], 'command line', sources);
  resolveFileReferences(merged, [], issues);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue, sources)));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return { config: deepFreeze(parsed.data), file };
}

/** OPENHQM_SERVER__PORT=8080 → { server: { port: '8080' } }. Names are case-insensitive. */
function envTree(env: Readonly<Record<string, string | undefined>>): Tree {
  const tree: Tree = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toUpperCase().startsWith(ENV_PREFIX) || !name.includes('__')) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    if (path.some((part) => part === '')) continue;
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

/** `auth_token_file: /run/secrets/token` → `auth_token: <file content>`. */
function resolveFileReferences(tree: Tree, path: string[], issues: FieldIssue[]): void {
  for (const [key, value] of Object.entries(tree)) {
    if (isTree(value)) {
      resolveFileReferences(value, [...path, key], issues);
      continue;
    }
    if (!key.endsWith('_file') || typeof value !== 'string') continue;
    delete tree[key];
    try {
      tree[key.slice(0, -'_file'.length)] = readFileSync(value, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      issues.push({ path: [...path, key].join('.'), message: `cannot read ${value}: ${(error as Error).message}` });
    }
  }
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
      if (!isTree(target[key])) target[key] = {};
      mergeInto(target[key] as Tree, value, here, origin, sources, name);
    } else {
      target[key] = value;
      const label = name(here);
      sources.set(here.join('.'), label === '' ? origin : `${origin} ${label}`);
    }
  }
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): FieldIssue[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const full = [...path, key];
      const hint = suggest(key, knownKeys(path));
      return {
        path: full.join('.'),
        message: `unknown key${hint === undefined ? '' : ` (did you mean "${hint}"?)`}${from(full, sources)}`,
      };
    });
  }
  return [{ path: path.join('.'), message: `${issue.message}${from(path, sources)}` }];
}

function from(path: readonly string[], sources: Map<string, string>): string {
  for (let n = path.length; n > 0; n -= 1) {
    const source = sources.get(path.slice(0, n).join('.'));
    if (source !== undefined) return ` (from ${source})`;
  }
  return '';
}

function knownKeys(path: readonly string[]): string[] {
  let schema: unknown = configSchema;
  for (const part of path) schema = shapeOf(schema)?.[part];
  return Object.keys(shapeOf(schema) ?? {});
}

/** The object shape behind defaults, pipes and refinements, if the schema is an object. */
function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  let current = schema as { _zod?: { def?: Record<string, unknown> } } | undefined;
  for (let i = 0; i < 8 && current?._zod?.def !== undefined; i += 1) {
    const def = current._zod.def;
    if (def.type === 'object') return def.shape as Record<string, unknown>;
    current = (def.innerType ?? def.in ?? def.schema) as typeof current;
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

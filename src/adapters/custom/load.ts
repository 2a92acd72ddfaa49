/**
 * Loading a backend of the user's own (`queue.type: custom`, `cache.type: custom`, D280): the
 * ES module named by `<section>.custom_module`, its export named by `<section>.custom_class`,
 * checked to be an adapter factory before anything is created, and the object its `create`
 * returns checked against the port's member lists (kept beside the port types), so a backend
 * that lacks a method is refused at start-up with the method named, not found missing at the
 * first request that needs it. Every refusal is HQM_ERR_CONFIG naming the key to look at.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, isHqmError } from '../../core/errors.js';
import type { AdapterContext, AdapterFactory } from '../../ports/adapter.js';

export type Section = 'queue' | 'cache';

/** The three keys of a section that name a custom backend. */
export interface CustomSpec {
  readonly module: string;
  readonly exportName: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** What a created backend must carry: its methods, its capability keys, and objects with methods of their own. */
export interface Members {
  readonly methods: readonly string[];
  readonly capabilities: readonly string[];
  readonly objects?: Readonly<Record<string, readonly string[]>>;
}

const SPEC_KEYS = ['custom_module', 'custom_class', 'custom_config'];

/** Splits a section's options into the custom keys and the rest, which the backend is given under its custom_config. */
export function readSpec(options: Readonly<Record<string, unknown>>): { spec: CustomSpec; rest: Record<string, unknown> } {
  const rest = Object.fromEntries(Object.entries(options).filter(([key]) => !SPEC_KEYS.includes(key)));
  const config = options.custom_config;
  return {
    spec: {
      module: typeof options.custom_module === 'string' ? options.custom_module.trim() : '',
      exportName: typeof options.custom_class === 'string' ? options.custom_class.trim() : '',
      config: typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : {},
    },
    rest,
  };
}

/** Imports the module and returns its factory; refuses a missing module or export, or one that is no factory. */
export async function loadCustomFactory<T>(section: Section, spec: CustomSpec, cwd = process.cwd()): Promise<AdapterFactory<T>> {
  if (spec.module === '') refuse(`${section}.custom_module`, `required when ${section}.type is custom: the module that exports the backend's factory`);
  const loaded = await importModule(section, spec.module, cwd);
  const name = spec.exportName !== '' ? spec.exportName : loaded.default !== undefined ? 'default' : 'factory';
  const key = spec.exportName !== '' ? `${section}.custom_class` : `${section}.custom_module`;
  if (!Object.hasOwn(loaded, name) || loaded[name] === undefined) {
    const exported = Object.keys(loaded).join(', ') || 'nothing';
    refuse(key, `${spec.module} has no export "${name}"${spec.exportName === '' ? ' (nor a default export)' : ''}; it exports ${exported}`);
  }
  const candidate = loaded[name];
  if (!isFactory<T>(candidate)) {
    refuse(key, `export "${name}" of ${spec.module} is not an adapter factory: expected an object { type, create(options, context) } (see openhqm/ports)`);
  }
  return candidate;
}

function isFactory<T>(value: unknown): value is AdapterFactory<T> {
  return typeof value === 'object' && value !== null && typeof (value as { create?: unknown }).create === 'function';
}

/** Creates the backend through the user's factory and refuses an object that lacks a member of the port, naming each. */
export async function createChecked<T>(section: Section, spec: CustomSpec, options: Readonly<Record<string, unknown>>, context: AdapterContext, members: Members, cwd?: string): Promise<T> {
  const factory = await loadCustomFactory<T>(section, spec, cwd);
  const logger = context.logger.child({ component: section === 'cache' ? 'store' : 'queue', backend: 'custom', module: spec.module });
  let created: unknown;
  try {
    created = await factory.create({ ...options, ...spec.config }, { ...context, logger });
  } catch (error) {
    // The backend's own refusals (its options, its server) are already typed; anything else is named as the module's.
    if (isHqmError(error)) throw error;
    throw new ConfigError([{ path: `${section}.custom_module`, message: `create() of ${spec.module} failed: ${(error as Error).message ?? String(error)}` }]);
  }
  const missing = missingMembers(created, members);
  if (missing.length > 0) {
    // It was made, so it may hold a connection: given back before start-up stops.
    const close = (created as { close?: unknown } | null)?.close;
    if (typeof close === 'function') await Promise.resolve(close.call(created)).catch(() => undefined);
    refuse(`${section}.custom_module`, `the backend ${spec.module} created lacks ${missing.join(', ')} (every member of the port is required: docs/adapters.md "Custom backends")`);
  }
  logger.info({ type: (created as { type: string }).type }, 'custom backend created');
  return created as T;
}

/** The members `object` lacks, by name: methods as `name()`, capabilities as `capabilities.key`. */
export function missingMembers(object: unknown, members: Members): string[] {
  if (typeof object !== 'object' || object === null) return ['everything (create() returned no object)'];
  const record = object as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof record.type !== 'string' || record.type === '') missing.push('type');
  missing.push(...members.methods.filter((m) => typeof record[m] !== 'function').map((m) => `${m}()`));
  const capabilities = record.capabilities as Record<string, unknown> | undefined;
  if (typeof capabilities !== 'object' || capabilities === null) missing.push('capabilities');
  else missing.push(...members.capabilities.filter((k) => capabilities[k] === undefined).map((k) => `capabilities.${k}`));
  for (const [name, methods] of Object.entries(members.objects ?? {})) {
    const inner = record[name] as Record<string, unknown> | undefined;
    if (typeof inner !== 'object' || inner === null) missing.push(name);
    else missing.push(...methods.filter((m) => typeof inner[m] !== 'function').map((m) => `${name}.${m}()`));
  }
  return missing;
}

/** Files are paths from the working directory (./, ../, /, or ending in .js/.mjs) or file: URLs; anything else is a package name. */
async function importModule(section: Section, module: string, cwd: string): Promise<Record<string, unknown>> {
  const url = moduleUrl(section, module, cwd);
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    refuse(`${section}.custom_module`, `cannot import ${module}: ${(error as Error).message}`);
  }
}

function moduleUrl(section: Section, module: string, cwd: string): string {
  if (module.startsWith('file:')) return module;
  const isPath = /^\.{1,2}[\\/]/.test(module) || isAbsolute(module) || /\.[cm]?js$/.test(module);
  if (!isPath) return module;
  const file = resolve(cwd, module);
  if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) refuse(`${section}.custom_module`, `cannot import ${module}: ${file} is not a file`);
  return pathToFileURL(file).href;
}

function refuse(path: string, message: string): never {
  throw new ConfigError([{ path, message }]);
}

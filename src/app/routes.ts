/**
 * Loading the routes (routing.config_path or routing.config_dict), and keeping them current:
 * the file is watched, and a changed file is compiled and swapped in whole — or, if it does
 * not compile, refused and logged while the previous routes stay in force.
 *
 * @module
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/schema.js';
import type { HqmEvents } from '../core/events.js';
import { isHqmError } from '../core/errors.js';
import type { Logger } from '../ports/logger.js';
import type { RouteSimulator } from '../api/context.js';
import { Router, RoutesError, type CompileOptions } from '../routing/router.js';
import { SIMULATOR_JQ } from '../routing/transform/jq.js';
import { endpointCatalogue } from './proxy.js';
import { configuredQueues } from './queues.js';

/** How often the routes file is checked for changes (a Kubernetes ConfigMap update is a symlink swap). */
const WATCH_INTERVAL_MS = 500;

export class RoutesHolder {
  #current: Router;
  #watcher: NodeJS.Timeout | undefined;

  private constructor(
    initial: Router,
    private readonly options: CompileOptions,
    private readonly logger: Logger,
    private readonly events: HqmEvents,
  ) {
    this.#current = initial;
  }

  /** The routes in force. */
  get current(): Router {
    return this.#current;
  }

  /** `options` add to what the routing section says (routing.strict, the output cap). */
  static async load(routing: Config['routing'], options: CompileOptions, logger: Logger, events: HqmEvents): Promise<RoutesHolder> {
    const path = routing.config_path;
    const settings = { ...routingCompileOptions(routing), ...options };
    // The file's identity is taken before it is read, so an edit made meanwhile is not missed.
    const loaded = path === null ? undefined : statOrNull(path);
    const router = await Router.compile(configuredRoutes(routing), settings);
    logWarnings(logger, router);
    const holder = new RoutesHolder(router, settings, logger, events);
    if (path !== null) holder.#watch(path, loaded ?? null);
    logger.info({ routes: router.size, source: routing.config_path ?? 'routing.config_dict' }, 'routes loaded');
    return holder;
  }

  /** Compiles the file again and swaps it in; a broken file is refused and the old routes stay. */
  async reload(path: string): Promise<boolean> {
    try {
      const router = await Router.compile(readRoutesFile(path), this.options);
      logWarnings(this.logger, router);
      this.#current = router;
      this.logger.info({ routes: router.size, path }, 'routes reloaded');
      this.events.emit('routes:reloaded', { path, routes: router.size });
      return true;
    } catch (error) {
      this.logger.error({ err: error, path }, 'routes file refused; the previous routes stay in force');
      this.events.emit('routes:rejected', { path, error: (error as Error).message });
      return false;
    }
  }

  close(): void {
    clearInterval(this.#watcher);
    this.#watcher = undefined;
  }

  /**
   * Polls the file's identity (inode, size, mtime) against the version that was loaded; a
   * symlink swap (ConfigMap update) or an edit in place both change it.
   */
  #watch(path: string, loaded: Stats | null): void {
    let seen = loaded === null ? '' : identity(loaded);
    let checking = false;
    this.#watcher = setInterval(() => {
      if (checking) return;
      checking = true;
      stat(path)
        .then(async (now) => {
          const current = identity(now);
          if (current === seen) return;
          seen = current;
          await this.reload(path);
        })
        .catch((error: unknown) => this.logger.warn({ err: error, path }, 'routes file cannot be read; the current routes stay in force'))
        .finally(() => {
          checking = false;
        });
    }, WATCH_INTERVAL_MS);
    this.#watcher.unref();
  }
}

/** Each broken route is logged once, when the file is loaded, not per request it fails. */
function logWarnings(logger: Logger, router: Router): void {
  for (const warning of router.warnings) logger.warn({ route: warning.route }, `routes: ${warning.route === null ? '' : `route "${warning.route}": `}${warning.message}`);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null; // readRoutesFile reports the problem.
  }
}

function identity(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/** The routes the configuration names: routing.config_path read, or routing.config_dict. */
export function configuredRoutes(routing: Config['routing']): unknown {
  return routing.config_path === null ? routing.config_dict : readRoutesFile(routing.config_path);
}

/** Reads a YAML or JSON routes file (JSON is YAML). */
export function readRoutesFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RoutesError([{ route: null, message: `cannot read ${path}: ${(error as Error).message}` }]);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new RoutesError([{ route: null, message: `${path} is not valid YAML or JSON: ${(error as Error).message}` }]);
  }
}

/** Endpoint check for routes: a name in proxy.endpoints, or a URL. */
export function endpointChecker(proxy: Config['proxy']): (endpoint: string) => boolean {
  return (endpoint) => Object.hasOwn(proxy.endpoints, endpoint);
}

/** How the routes in force are compiled: an endpoint neither configured nor a URL stops start-up. */
export function startupCompileOptions(config: Config): CompileOptions {
  return { endpointKnown: endpointChecker(config.proxy), unknownEndpoint: 'error', queues: queueNames(config) };
}

/** What the routing section decides about compiling routes, wherever they are compiled. */
export function routingCompileOptions(routing: Pick<Config['routing'], 'strict' | 'max_transform_output_bytes'>): CompileOptions {
  return { strict: routing.strict, maxTransformOutputBytes: routing.max_transform_output_bytes };
}

/**
 * The route simulator behind `openhqm routes test` and `POST /api/v1/routes/test`: routes one
 * message (a queue envelope) with the given routes — or the ones in force — and answers the
 * original's routing result, the method filled in as a worker would. Unknown endpoints are
 * warnings here, not errors; routing.strict and the output cap apply as on the server. Its jq
 * programs run on the simulator's own jq thread, so simulating never delays real traffic.
 */
export function routeSimulator(config: Config, inForce?: RoutesHolder): RouteSimulator {
  const catalogue = endpointCatalogue(config.proxy);
  const options: CompileOptions = { ...routingCompileOptions(config.routing), endpointKnown: endpointChecker(config.proxy), unknownEndpoint: 'warn', jq: SIMULATOR_JQ, queues: queueNames(config) };
  return async ({ routes, message }) => {
    let router: Router;
    try {
      if (routes !== undefined) router = await Router.compile(routes, options);
      else if (inForce !== undefined) router = inForce.current;
      else return { ok: false, error: 'no routes given and routing is not enabled (routing.enabled)', code: 'HQM_ERR_ROUTES_INVALID' };
    } catch (error) {
      return { ok: false, error: (error as Error).message, code: 'HQM_ERR_ROUTES_INVALID' };
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return { ok: false, error: 'message must be a queue envelope (a JSON object)', code: 'HQM_ERR_VALIDATION' };
    }
    try {
      const result = await router.route(message as Record<string, unknown>, { jq: SIMULATOR_JQ });
      const metadata = (message as { metadata?: { method?: unknown } }).metadata;
      const configured = catalogue.has(result.endpoint) ? catalogue.resolveTarget(result.endpoint).method : null;
      const method = result.method ?? (typeof metadata?.method === 'string' ? metadata.method.toUpperCase() : null) ?? configured ?? 'POST';
      return { ok: true, result: { ...result, method }, warnings: router.warnings.map((w) => `${w.route === null ? 'routes' : `route "${w.route}"`}: ${w.message}`) };
    } catch (error) {
      // The router throws NO_ROUTE or TRANSFORM; anything else is a transform gone wrong too.
      return { ok: false, error: (error as Error).message, code: isHqmError(error) ? error.code : 'HQM_ERR_TRANSFORM' };
    }
  };
}

/** The queues a route's `queue` may name. */
function queueNames(config: Config): string[] {
  return configuredQueues(config).map((q) => q.name);
}

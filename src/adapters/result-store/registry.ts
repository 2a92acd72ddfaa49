/**
 * Every result store by its `cache.type` name (the original's name for the section), imported
 * lazily. Only the composition root (src/app) reads this.
 *
 * @module
 */
import type { ResultStoreFactory } from '../../ports/adapter.js';

type Loader = () => Promise<{ factory: ResultStoreFactory }>;

export const resultStores: Readonly<Record<string, Loader>> = {
  sqlite: () => import('./sqlite/index.js'),
  memory: () => import('./memory/index.js'),
  redis: () => import('./redis/index.js'),
  postgres: () => import('./postgres/index.js'),
  custom: () => import('../custom/result-store.js'),
};

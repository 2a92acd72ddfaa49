/**
 * `cache.type: custom`: the result store of the user's module (D280). It is given the cache
 * section's keys with `cache.custom_config` over them, and must have every ResultStore method
 * and capability, and an `analytics` with every AnalyticsStore method.
 *
 * @module
 */
import type { ResultStoreFactory } from '../../ports/adapter.js';
import { ANALYTICS_STORE_METHODS } from '../../ports/analytics-store.js';
import { RESULT_STORE_CAPABILITY_KEYS, RESULT_STORE_METHODS, type ResultStore } from '../../ports/result-store.js';
import { createChecked, readSpec } from './load.js';

export const factory: ResultStoreFactory = {
  type: 'custom',
  async create(options, context) {
    const { spec, rest } = readSpec(options);
    return createChecked<ResultStore>('cache', spec, rest, context, {
      methods: RESULT_STORE_METHODS,
      capabilities: RESULT_STORE_CAPABILITY_KEYS,
      objects: { analytics: ANALYTICS_STORE_METHODS },
    });
  },
};

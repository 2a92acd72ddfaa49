/**
 * The size of a transform's output as the compact JSON that is sent upstream, measured
 * without building that text: a JSONPath such as `$..*` or a JSONata join can return the same
 * large value many times over, and serialising it first to measure it is the blow-up the cap
 * is there to prevent. Counting stops as soon as the cap is passed.
 *
 * @module
 */
import { OutputTooLargeError } from './types.js';

/**
 * Throws OutputTooLargeError when `value` as JSON (UTF-8) is longer than `maxBytes`; the error
 * names `cap` (when the value is one part of an output, `maxBytes` is what is left of it).
 */
export function assertOutputWithin(value: unknown, maxBytes: number, cap = maxBytes): void {
  let total = 0;
  const add = (bytes: number): void => {
    total += bytes;
    if (total > maxBytes) throw new OutputTooLargeError(cap);
  };
  const visit = (node: unknown): void => {
    switch (typeof node) {
      case 'string':
        // UTF-8 takes at least a byte per UTF-16 unit: a string longer than what is left is
        // over the cap without being flattened (a JSONata `&` chain is a rope until then).
        if (node.length > maxBytes - total) add(node.length + 2);
        else add(Buffer.byteLength(JSON.stringify(node)));
        return;
      case 'number':
      case 'boolean':
        add(String(JSON.stringify(node)).length);
        return;
      case 'object': {
        if (node === null) return add(4);
        if (Array.isArray(node)) {
          add(2 + Math.max(0, node.length - 1));
          for (const item of node) {
            if (item === undefined || typeof item === 'function' || typeof item === 'symbol') add(4);
            else visit(item);
          }
          return;
        }
        add(2);
        let first = true;
        for (const [key, item] of Object.entries(node)) {
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
          add((first ? 0 : 1) + Buffer.byteLength(JSON.stringify(key)) + 1);
          first = false;
          visit(item);
        }
        return;
      }
      default:
        return; // undefined, functions: left out of JSON, as JSON.stringify does.
    }
  };
  visit(value);
}

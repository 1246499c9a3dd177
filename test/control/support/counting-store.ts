import type { ControlStore } from '../../../src/control/server/control-store.js';

/**
 * `store`, counting its calls by method name in `calls` (reset it between steps). Counts whatever methods
 * the store has, so a test asserting "no call to X" also runs against a store that predates a method.
 */
export function countingStore<S extends ControlStore>(store: S, calls: Map<string, number>): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

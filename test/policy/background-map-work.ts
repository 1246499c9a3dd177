import type { PerKeyBoundedMap } from '../../src/policy/per-key-bounded-map.js';

/**
 * Counts the writes to the Map a PerKeyBoundedMap keeps its entries in (set, delete, clear): the work a change and its
 * rollback cost, counted rather than timed, so a test says how it grows with the size of the map on any machine.
 */
export function countMapWrites<T>(map: PerKeyBoundedMap<T>): { readonly writes: number } {
  const entries = (map as unknown as { entries: Map<unknown, unknown> }).entries;
  const counted = { writes: 0 };
  for (const method of ['set', 'delete', 'clear'] as const) {
    const original = entries[method].bind(entries) as (...args: unknown[]) => unknown;
    Object.defineProperty(entries, method, { value: (...args: unknown[]) => { counted.writes++; return original(...args); } });
  }
  return counted;
}

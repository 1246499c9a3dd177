import { PerKeyBoundedMap, type CrowdedBy } from './per-key-bounded-map.js';

/**
 * A PerKeyBoundedMap whose entries can be put back where they were (`putBack`): a change of the background ledger
 * rolled back (background-change.ts) returns what it removed, and the order is what decides which entry is crowded out
 * or expires first. Set again, as before, a record taken back re-entered as the newest: a key's flood then crowded out
 * a newer one in its place, and an old estimate outlived its day by as long as it had been kept.
 *
 * Each value remembers its place (the order it was first set in, or restored in); putting one back rebuilds the order
 * around it. That costs a pass over the whole map, paid only when a write failed, and only when the value is not the
 * newest anyway.
 */
export class InPlaceBoundedMap<T extends object> extends PerKeyBoundedMap<T> {
  private readonly places = new WeakMap<T, number>();
  private nextPlace = 0;
  /** The place of the newest value set: one put back past it goes at the end, as a plain set would put it. */
  private newestPlace = -1;

  constructor(maxEntries: number, maxPerKey: number, onCrowdedOut: (key: string, value: T, by: CrowdedBy) => void, private readonly ownerOf: (value: T) => string) {
    super(maxEntries, maxPerKey, onCrowdedOut);
  }

  override set(key: string, owner: string, value: T): void {
    super.set(key, owner, value);
    this.newestPlace = this.nextPlace;
    this.places.set(value, this.nextPlace++);
  }

  /**
   * Puts `value` back under `key` (not held now) at the place it had when it was removed. Undone newest first, a
   * rolled-back change leaves the map as it was before it, so no bound is met on the way and nothing is crowded out.
   */
  putBack(key: string, value: T): void {
    const place = this.places.get(value);
    if (place === undefined || place >= this.newestPlace || this.size === 0) {
      this.set(key, this.ownerOf(value), value);
      return;
    }
    const held: Array<[string, T]> = [];
    for (let oldest = this.oldest(); oldest !== undefined; oldest = this.oldest()) {
      held.push([oldest, this.get(oldest)!]);
      this.delete(oldest);
    }
    const at = held.findIndex(([, other]) => (this.places.get(other) ?? Number.POSITIVE_INFINITY) > place);
    held.splice(at === -1 ? held.length : at, 0, [key, value]);
    // Set again through the base class: each keeps its own place.
    for (const [heldKey, heldValue] of held) super.set(heldKey, this.ownerOf(heldValue), heldValue);
  }
}

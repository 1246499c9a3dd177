import { PerKeyBoundedMap, type CrowdedBy } from './per-key-bounded-map.js';

/**
 * A PerKeyBoundedMap whose entries can be put back where they were (`putBack`): a change of the background ledger
 * rolled back (background-change.ts) returns what it removed, and the order is what decides which entry is crowded out
 * or expires first. Set again, as before, a record taken back re-entered as the newest: a key's flood then crowded out
 * a newer one in its place, and an old estimate outlived its day by as long as it had been kept.
 *
 * Each value remembers its place (the order it was first set in). A value put back goes in at the end at once (found,
 * counted), and the order is mended only when it next matters (the oldest asked for, a bound met by a set): once, in
 * one pass, however many a rollback put back. Mended at each put-back, a rollback that put back k records of n cost
 * k passes over the whole map, and a change that failed each time (a full disk) paid them on every try.
 */
export class InPlaceBoundedMap<T extends object> extends PerKeyBoundedMap<T> {
  private readonly places = new WeakMap<T, number>();
  private nextPlace = 0;
  /** The place of the value last added at the end (set or put back): a value put back past it is in order there. */
  private lastPlace = -1;
  /** A value was put back before one held: the order is mended before it is next read (inOrder). */
  private outOfOrder = false;

  constructor(maxEntries: number, maxPerKey: number, onCrowdedOut: (key: string, value: T, by: CrowdedBy) => void, private readonly ownerOf: (value: T) => string) {
    super(maxEntries, maxPerKey, onCrowdedOut);
  }

  override oldest(): string | undefined {
    this.inOrder();
    return super.oldest();
  }

  override set(key: string, owner: string, value: T): void {
    // Which entry a bound crowds out is the oldest: the order must be right before.
    this.inOrder();
    super.set(key, owner, value);
    this.lastPlace = this.nextPlace;
    this.places.set(value, this.nextPlace++);
  }

  /**
   * Puts `value` back under `key` (not held now) at the place it had when it was removed. No bound is met and nothing is
   * crowded out: a rolled-back change, undone newest first, restores a state that was allowed, and crowding out while
   * undoing would start another change inside the rollback (a give-up, its timer, its charge).
   */
  putBack(key: string, value: T): void {
    let place = this.places.get(value);
    if (place === undefined) {
      place = this.nextPlace++;
      this.places.set(value, place);
    }
    this.append(key, this.ownerOf(value), value);
    if (place < this.lastPlace) this.outOfOrder = true;
    else this.lastPlace = place;
  }

  /** Mends the order put-backs left (putBack): oldest place first, in one pass. */
  private inOrder(): void {
    if (!this.outOfOrder) return;
    this.outOfOrder = false;
    this.reorder((value) => this.places.get(value) ?? Number.POSITIVE_INFINITY);
  }
}

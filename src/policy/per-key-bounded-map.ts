/**
 * Entries held in memory for the virtual key they belong to, bounded twice: `maxEntries` in all, and `maxPerKey` for
 * any one key, so one key's flood crowds out its own oldest entries and not another key's. The oldest of any key goes
 * when the whole is full. What is crowded out is handed to `onCrowdedOut` (after it is removed), saying which bound it
 * met. Used for the background requests Edge waits for (background-responses.ts) and for their true-ups
 * (background-true-ups.ts).
 */
export type CrowdedBy = 'own_key' | 'all_keys';

export class PerKeyBoundedMap<T> {
  /** In the order set: the first is the oldest. */
  private readonly entries = new Map<string, { owner: string; value: T }>();
  /** The entries of each key, oldest first. */
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxPerKey: number,
    private readonly onCrowdedOut: (key: string, value: T, by: CrowdedBy) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /** The oldest entry's key, or undefined when empty. */
  oldest(): string | undefined {
    const [first] = this.entries.keys();
    return first;
  }

  /** Adds `value` under `key` for `owner` (a key not held yet), crowding out the oldest first where a bound is met. */
  set(key: string, owner: string, value: T): void {
    const ofOwner = this.byOwner.get(owner);
    while (ofOwner && ofOwner.size >= this.maxPerKey) {
      const [oldest] = ofOwner;
      if (oldest === undefined) break;
      this.crowdOut(oldest, 'own_key');
    }
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.oldest();
      if (oldest === undefined) break;
      this.crowdOut(oldest, 'all_keys');
    }
    this.append(key, owner, value);
  }

  /** Removes `key`; its value, or undefined when it was not held. */
  delete(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const keys = this.byOwner.get(entry.owner);
    keys?.delete(key);
    if (keys?.size === 0) this.byOwner.delete(entry.owner);
    return entry.value;
  }

  /**
   * Adds `value` under `key` for `owner` (a key not held yet) as the newest, meeting no bound and telling no one: for
   * a subclass restoring a state that was allowed (InPlaceBoundedMap putBack).
   */
  protected append(key: string, owner: string, value: T): void {
    this.entries.set(key, { owner, value });
    let keys = this.byOwner.get(owner);
    if (!keys) {
      keys = new Set();
      this.byOwner.set(owner, keys);
    }
    keys.add(key);
  }

  /**
   * Puts every entry in the order of `rank` (lowest the oldest), in one pass: a snapshot sorted, the map cleared and
   * refilled with no bound met. A snapshot nearly in order already (a few entries out of place) sorts in about one pass.
   */
  protected reorder(rank: (value: T) => number): void {
    const held = Array.from(this.entries, ([key, entry]) => ({ rank: rank(entry.value), key, entry }));
    held.sort((a, b) => a.rank - b.rank);
    this.entries.clear();
    this.byOwner.clear();
    for (const { key, entry } of held) this.append(key, entry.owner, entry.value);
  }

  private crowdOut(key: string, by: CrowdedBy): void {
    const value = this.delete(key);
    if (value !== undefined) this.onCrowdedOut(key, value, by);
  }
}

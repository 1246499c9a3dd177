/**
 * A value attached to a short-lived object (an exchange, a request), readable by whoever holds the
 * slot: what a WeakMap does, without keeping the value alive past its key.
 *
 * Why not a WeakMap: V8's young-generation collector (the scavenger, which runs several times a second
 * under load) treats a long-lived WeakMap's values as live: only a full mark-compact notices that a key
 * died and drops its value. A WeakMap keyed by requests therefore carries every request's value (and
 * all it references) through two scavenges into the old generation, where it dies. Under the
 * benchmark's load that was ~1.8 MB copied per scavenge (3-6 ms pauses, the latency p99) and a
 * mark-compact every few seconds. A property under a private symbol lives and dies with its object.
 *
 * Objects that cannot take a property (frozen, sealed) fall back to a WeakMap.
 */
export class RequestScopedSlot<K extends object, V> {
  private readonly key: symbol;
  private readonly fallback = new WeakMap<K, V>();

  constructor(description: string) {
    this.key = Symbol(description);
  }

  get(owner: K): V | undefined {
    if (Object.prototype.hasOwnProperty.call(owner, this.key)) return (owner as Record<symbol, V>)[this.key];
    return this.fallback.get(owner);
  }

  set(owner: K, value: V): void {
    if (Object.isExtensible(owner) || Object.prototype.hasOwnProperty.call(owner, this.key)) {
      // Not enumerable: the owner's JSON, spreads and Object.keys stay as they were.
      Object.defineProperty(owner, this.key, { value, writable: true, configurable: true, enumerable: false });
      return;
    }
    this.fallback.set(owner, value);
  }

  delete(owner: K): void {
    if (Object.prototype.hasOwnProperty.call(owner, this.key)) delete (owner as Record<symbol, V>)[this.key];
    else this.fallback.delete(owner);
  }
}

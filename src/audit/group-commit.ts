/** Settles one caller's wait for its item to be committed. */
export interface CommitWaiter<R> {
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Queued<T, R> {
  item: T;
  waiter?: CommitWaiter<R>;
}

/**
 * Group commit: items added during the same turn of the event loop are handed to `commit` together
 * (flushed on setImmediate, or at once when `maxGroupSize` pile up), so many concurrent requests share
 * one SQLite transaction instead of paying one commit each. `commit` is synchronous (better-sqlite3),
 * so a flush finishes before any other callback runs.
 */
export class GroupCommit<T, R> {
  private queue: Queued<T, R>[] = [];
  private scheduled = false;

  constructor(
    /** Commits all items atomically and returns one result per item, in order; throws to fail them all. */
    private readonly commit: (items: T[]) => R[],
    /** Called when a group fails and some of its items had nobody waiting (fire-and-forget appends). */
    private readonly onUnwaitedFailure: (error: unknown, items: T[]) => void,
    private readonly maxGroupSize: number,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  add(item: T, waiter?: CommitWaiter<R>): void {
    this.queue.push({ item, waiter });
    if (this.queue.length >= this.maxGroupSize) {
      this.flushNow();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushNow();
      });
    }
  }

  /**
   * Commits everything queued so far, synchronously. Failures go to the waiters (never thrown) and
   * are also returned, so a caller flushing on purpose can tell.
   */
  flushNow(): unknown[] {
    const errors: unknown[] = [];
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxGroupSize);
      let results: R[];
      try {
        results = this.commit(group.map((q) => q.item));
      } catch (error) {
        errors.push(error);
        const unwaited: T[] = [];
        for (const q of group) {
          if (q.waiter) q.waiter.reject(error);
          else unwaited.push(q.item);
        }
        if (unwaited.length > 0) this.onUnwaitedFailure(error, unwaited);
        continue;
      }
      group.forEach((q, i) => q.waiter?.resolve(results[i]!));
    }
    return errors;
  }
}

/**
 * Runs tasks one at a time per key (a device id), in arrival order, while different keys run
 * concurrently. Used where a read-decide-write must not interleave for the same device
 * (bundle versions, audit chain heads).
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    this.tails.set(key, current);
    const cleanup = (): void => {
      if (this.tails.get(key) === current) this.tails.delete(key);
    };
    current.then(cleanup, cleanup);
    return current;
  }
}

/**
 * What a start-up has opened so far (databases, timers, listeners, files), closed in reverse order:
 * by a normal shutdown, or at once when a later step of the start fails, so a failed start leaves
 * nothing running behind it.
 */
export class CloserStack {
  private readonly closers: Array<{ what: string; close: () => void | Promise<void> }> = [];

  push(what: string, close: () => void | Promise<void>): void {
    this.closers.push({ what, close });
  }

  /**
   * Closes everything, last opened first. A closer that fails does not stop the others; the
   * failures are returned, each naming what could not be closed.
   */
  async closeAll(): Promise<Error[]> {
    const failures: Error[] = [];
    for (let closer = this.closers.pop(); closer; closer = this.closers.pop()) {
      try {
        await closer.close();
      } catch (err) {
        failures.push(new Error(`could not close ${closer.what}: ${(err as Error).message}`));
      }
    }
    return failures;
  }
}

/**
 * The memory side of one change of the background ledger (background-store.ts atomically writes its rows and the
 * counters' in one transaction). A write that fails in it rolls the database back whole; memory must follow, or the
 * run goes on as if the change had been made: an entry taken by a fetch whose charge was rolled back (never charged
 * this run), an estimate kept whose charge was rolled back (a later fetch gave back what was never charged), an
 * estimate raised whose charge was rolled back (a later true-up started from too much).
 *
 * So while a change runs, each collection says how to undo what it does (`undo`), and what may only follow a change
 * that holds is put off until it commits (`afterCommit`): its charge's record for the audit trail, a hold given back.
 * Rolled back, the undos run newest first and the put-off work is dropped. Outside a change both act at once.
 *
 * One of them that throws is told to `onError` and the rest run on: a committed change holds whatever its follow-up
 * does (a throw would make it look failed, and skip the hold given back after it), and a rolled-back one must still be
 * undone whole in memory, its own error the one its caller sees.
 */
export class LedgerChanges {
  private undos: Array<() => void> | undefined;
  private committed: Array<() => void> = [];

  constructor(private readonly onError: (err: unknown, context: string) => void) {}

  /** A change is running: the collections' changes belong to it. */
  get active(): boolean {
    return this.undos !== undefined;
  }

  /**
   * Runs `write` (the change, in its transaction) as one change. `rolledBack` says, once it returns, whether its writes
   * were rolled back instead of committed (a failed write is told, not thrown); a throw rolls back too.
   */
  run<T>(write: () => T, rolledBack: () => boolean): T {
    const undos: Array<() => void> = [];
    const committed: Array<() => void> = [];
    this.undos = undos;
    this.committed = committed;
    let held = false;
    try {
      const result = write();
      held = !rolledBack();
      return result;
    } finally {
      this.undos = undefined;
      this.committed = [];
      if (held) for (const then of committed) this.carryOn(then, 'finishing a background ledger change that committed');
      else for (const undo of undos.reverse()) this.carryOn(undo, 'undoing in memory a background ledger change rolled back');
    }
  }

  private carryOn(step: () => void, context: string): void {
    try {
      step();
    } catch (err) {
      this.onError(err, context);
    }
  }

  /** How to undo a change just made in memory, should the running change be rolled back. */
  undo(undo: () => void): void {
    this.undos?.push(undo);
  }

  /** Done once the running change commits (never, if it is rolled back); at once when none runs. */
  afterCommit(then: () => void): void {
    if (this.undos) this.committed.push(then);
    else then();
  }
}

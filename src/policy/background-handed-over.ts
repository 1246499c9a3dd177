import type { BackgroundJournal, StoredEntry } from './background-store.js';
import { BackgroundTrueUps, type TrueUp } from './background-true-ups.js';
import type { LedgerChanges } from './background-change.js';
import type { SeenFinalState } from './background-responses.js';

/**
 * Estimates keys keep of work continued under another key since (background-charging.ts handOverToOtherKey), open
 * until the run's usage is known. A run can be handed over more than once (key A, then B, then C: each continued it
 * after the one before had been charged an estimate), so one id can have several: each key's is kept apart, in the
 * order handed over. Keeping one per id, as before, dropped A's estimate when B's came: A was never given it back.
 *
 * Each is an entry of its own in a BackgroundTrueUps (bounded and journalled as true-ups are), under the run's id for
 * the first and the id with a slot number for each later one: a row kept by an earlier version, under the plain id,
 * reads as the first.
 */

/** Hand-overs kept for one run: past that, the newest replaces the last kept (a run passed among this many keys is no real case). */
export const MAX_HAND_OVERS_PER_RUN = 16;

export class HandedOverEstimates {
  private readonly kept: BackgroundTrueUps;

  constructor(journal?: BackgroundJournal<TrueUp>, private readonly changes?: LedgerChanges) {
    // One crowded out is dropped at its estimate, as all were before.
    this.kept = new BackgroundTrueUps({ onCrowdedOut: () => {}, ...(journal ? { journal } : {}), ...(changes ? { changes } : {}) });
  }

  get size(): number {
    return this.kept.size;
  }

  get maxAgeMs(): number {
    return this.kept.maxAgeMs;
  }

  restore(entries: ReadonlyArray<StoredEntry<TrueUp>>): void {
    this.kept.restore(entries);
  }

  /** Keeps `estimate`, which its key kept of `id` until another key continued it, after any kept before. */
  keep(provider: string, id: string, estimate: TrueUp, nowMs: number): void {
    let slot = MAX_HAND_OVERS_PER_RUN - 1;
    while (slot > 0 && !this.kept.find(provider, slotId(id, slot - 1), nowMs)) slot--;
    this.kept.keep(provider, slotId(id, slot), estimate);
  }

  /** Whether any estimate of `id` is kept. */
  holds(provider: string, id: string, nowMs: number): boolean {
    return this.kept.size > 0 && this.estimatesOf(provider, id, nowMs).length > 0;
  }

  /**
   * The key that continued `id` took the work over (it is waited for under that key now): noted on the newest
   * estimate, the one handed to that key, so that closing them later gives every old key its estimate back even if
   * the new key's own entry or estimate is gone by then (crowded out, expired) and cannot tell it paid.
   */
  noteTakenOver(provider: string, id: string, nowMs: number): void {
    const newest = this.estimatesOf(provider, id, nowMs).at(-1);
    if (!newest || newest.estimate.takenOver) return;
    newest.estimate.takenOver = true;
    this.changes?.undo(() => { delete newest.estimate.takenOver; });
    this.kept.changed(provider, newest.slotId);
  }

  /**
   * A final state of `id` reporting its usage, fetched back before the first bundle: kept with the newest estimate (its
   * row), so the next start closes them all by it (background-charging.ts takeUp) if this run stops before the bundle.
   */
  noteFinalState(provider: string, id: string, finalState: SeenFinalState, nowMs: number): void {
    const newest = this.estimatesOf(provider, id, nowMs).at(-1);
    if (!newest) return;
    newest.estimate.finalState = finalState;
    this.kept.changed(provider, newest.slotId);
  }

  private estimatesOf(provider: string, id: string, nowMs: number): Array<{ slotId: string; estimate: TrueUp }> {
    const found: Array<{ slotId: string; estimate: TrueUp }> = [];
    for (let slot = 0; slot < MAX_HAND_OVERS_PER_RUN; slot++) {
      const estimate = this.kept.find(provider, slotId(id, slot), nowMs);
      if (estimate) found.push({ slotId: slotId(id, slot), estimate });
    }
    return found;
  }

  /** Every estimate kept of `id`, closed from now on, in the order they were handed over (the newest last). */
  takeAll(provider: string, id: string, nowMs: number): TrueUp[] {
    const taken: TrueUp[] = [];
    for (let slot = 0; slot < MAX_HAND_OVERS_PER_RUN; slot++) {
      const estimate = this.kept.take(provider, slotId(id, slot), nowMs);
      if (estimate) taken.push(estimate);
    }
    return taken;
  }
}

/** The run an estimate's id (slotId) is kept for. */
export function runIdOf(slotId: string): string {
  return slotId.replace(/ #\d+$/, '');
}

/** Provider ids hold no spaces: the slot cannot meet another run's id. */
function slotId(id: string, slot: number): string {
  return slot === 0 ? id : `${id} #${slot}`;
}

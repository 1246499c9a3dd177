import { keyOf, type SeenFinalState } from './background-responses.js';
import type { BackgroundJournal, StoredEntry } from './background-store.js';
import type { LedgerChanges } from './background-change.js';
import { InPlaceBoundedMap } from './background-in-place-map.js';
import type { ChargedWindow, LateChargeTarget } from './late-charge.js';
import type { TokenUsage } from './usage.js';
import type { WindowIdentity } from './window-succession.js';

/**
 * Background requests charged Edge's estimate rather than their usage (background-responses.ts), kept open so a
 * later fetch reporting the usage corrects the charge: a true-up.
 *
 * Two estimates are provisional. A request Edge gave up (not fetched back within the wait, crowded out, Edge
 * stopping) is charged its worst case; a client that fetches it back later with its usage gets the excess back,
 * and one whose answer ran past that worst case pays the rest. A final state reporting no usage (a cancel) is
 * charged the prompt and the answer text seen; the provider may still finish the work (seen on Azure) or have
 * spent reasoning tokens no text shows, and the later fetch reporting them pays the rest. Without this the
 * first estimate was final: "start, then cancel" went for the prompt, and a batch over the per-key bound paid the
 * worst case for answers it then fetched.
 *
 * Each record is compact (late-charge.ts: the key, the windows charged and how much, the prices; never the request's
 * texts) and bounded: kept `maxAgeMs` (a day by default), `maxEntries` in all (50,000), a tenth of that for one key.
 * One key's flood crowds out its own oldest, which is then charged up to its worst case (the enforcer does it),
 * so crowding out one's own cancelled request never pays; one already past its age (kept while expiry waits for the
 * first bundle) expires instead. The bound on all keys, or the age, closes the oldest with its estimate as it stands,
 * adding only the prompt of continuations it kept (TrueUp continuedPromptTokens). With a journal (background-store.ts)
 * they outlive a restart, for the rest of their day: one whose day ran out while Edge was down is dropped as the next
 * start loads the rows, never closed, so a continuation's prompt it kept goes uncharged.
 *
 * One ledger per id: a request continuing the work (tool outputs submitted to a run given up) takes the record over
 * onto the entry waiting again (background-responses.ts `charged`), and a final state seen in any answer closes it,
 * so the work is never charged once here and again there. A correction goes to the windows as the policy applied
 * now has them (window-successors.ts), and raises budget alerts as any charge does.
 */

/**
 * A window charged, and what the window is: a bundle applied since may have moved its counter to another key, or
 * dropped it (window-successors.ts); a correction follows it there.
 */
export interface TrueUpWindow extends ChargedWindow {
  identity: WindowIdentity;
}

export interface TrueUp {
  target: LateChargeTarget;
  /** Each token and spend window charged, with how much and into which run of it. */
  windows: TrueUpWindow[];
  /** The usage charged so far (Edge's estimate) and its cost. */
  usage: TokenUsage;
  costUsd: number;
  /** Why an estimate: given up (its worst case), or its final state reported no usage (a cancel). */
  reason: 'given_up' | 'no_usage';
  /** The answer tokens of its worst case: what it is charged up to if its own key's flood crowds it out. */
  worstCaseOutputTokens: number;
  /** The model the answers named: prices the usage of a route naming none. */
  answeredModel?: string;
  keptAtMs: number;
  /**
   * Of an estimate a key keeps after another key continued its work (background-handed-over.ts): the other key took
   * the work over, waited for under it from then on, so that key pays the run's usage, whatever becomes of its own
   * entry or estimate by then.
   */
  takenOver?: true;
  /**
   * The prompt of requests that continued the work (tool outputs submitted to a run) while this estimate was open, in a
   * change rolled back (background-charging.ts continueWork): settled through this record all the same (charged as an
   * exchange too, a run reporting usage was charged twice), the run read it, and no estimate has charged it yet. Added
   * to the estimate when the run ends reporting no usage, the estimate is crowded out, expires or is handed over to
   * another key (whose usage may never come), and goes with the run when it is continued again; a usage reported covers
   * it. Taken off once charged or carried on, so no copy of the record charges it again.
   */
  continuedPromptTokens?: number;
  /**
   * Its final state, fetched back while charges wait for the first bundle (background-charging.ts takeUp), as a waiting
   * entry keeps it (background-responses.ts): kept in its row, so a stop or a crash before that bundle leaves the next
   * start to settle it. Taken off once settled, and whenever the record leaves this ledger (taken, handed over, copied
   * into another), so a stale one is never settled again.
   */
  finalState?: SeenFinalState;
}

export const DEFAULT_TRUE_UP_MAX_AGE_MS = 24 * 60 * 60_000;
export const DEFAULT_MAX_TRUE_UPS = 50_000;

export interface BackgroundTrueUpsOptions {
  maxAgeMs?: number;
  maxEntries?: number;
  /** Records one virtual key may hold; default a tenth of `maxEntries`, at least one. */
  maxPerKey?: number;
  /** Crowded out by a newer record of its own key: the enforcer charges it up to its worst case. */
  onCrowdedOut: (id: string, trueUp: TrueUp, provider: string) => void;
  /**
   * Closed as it stands, its usage never seen: crowded out by the bound on all keys, or past its age. The enforcer
   * charges what it kept to be charged later (TrueUp continuedPromptTokens).
   */
  onDropped?: (id: string, trueUp: TrueUp, provider: string, why: 'all_keys' | 'expired') => void;
  /** Told of every record kept, changed and closed, to keep them across a restart. */
  journal?: BackgroundJournal<TrueUp>;
  /** The change running (background-change.ts): told how to undo what it does to the records, should it be rolled back. */
  changes?: LedgerChanges;
}

interface Kept {
  provider: string;
  id: string;
  trueUp: TrueUp;
}

export class BackgroundTrueUps {
  private readonly kept: InPlaceBoundedMap<Kept>;
  readonly maxAgeMs: number;
  private readonly journal: BackgroundJournal<TrueUp> | undefined;
  private readonly changes: LedgerChanges | undefined;
  private readonly onDropped: BackgroundTrueUpsOptions['onDropped'];
  /**
   * Records past their age stay kept while charges wait for the first bundle (deferExpiry): dropping one charges what it
   * kept (onDropped), and with no windows yet that moved no counter while its late charge was reported all the same.
   */
  private expiryDeferred = false;
  /** When the record being set was kept (keep, restore): what a record it crowds out is aged against. */
  private keepingAtMs: number | undefined;

  constructor(options: BackgroundTrueUpsOptions) {
    this.onDropped = options.onDropped;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_TRUE_UP_MAX_AGE_MS;
    this.journal = options.journal;
    this.changes = options.changes;
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_TRUE_UPS;
    const maxPerKey = options.maxPerKey ?? Math.max(1, Math.floor(maxEntries / 10));
    this.kept = new InPlaceBoundedMap(maxEntries, maxPerKey, (_key, kept, by) => {
      this.forgotten(kept);
      // Past its age against the record crowding it out (kept while expiry waits for the first bundle): it expires, as
      // it would have had expiry run; raised to its worst case, a record its day was over for paid for a newer one.
      if (by === 'own_key' && !this.expiredAt(kept, this.keepingAtMs)) options.onCrowdedOut(kept.id, kept.trueUp, kept.provider);
      else this.onDropped?.(kept.id, kept.trueUp, kept.provider, by === 'own_key' ? 'expired' : 'all_keys');
    }, (kept) => kept.trueUp.target.keyId);
  }

  get size(): number {
    return this.kept.size;
  }

  /** Keeps `trueUp` open for `id` at `provider` (replacing any record under that id). */
  keep(provider: string, id: string, trueUp: TrueUp): void {
    this.dropExpired(trueUp.keptAtMs);
    const key = keyOf(provider, id);
    const replaced = this.kept.delete(key);
    if (replaced) this.changes?.undo(() => this.reinstate(replaced));
    const kept: Kept = { provider, id, trueUp };
    this.setKept(key, kept);
    this.changes?.undo(() => { if (this.kept.get(key) === kept) this.kept.delete(key); });
    this.journal?.added(provider, id, trueUp.target.keyId, trueUp, trueUp.keptAtMs);
  }

  /** Records an earlier run of Edge kept (oldest first), as they were. */
  restore(entries: ReadonlyArray<StoredEntry<TrueUp>>): void {
    for (const { provider, id, value } of entries) {
      const key = keyOf(provider, id);
      if (!this.kept.has(key)) this.setKept(key, { provider, id, trueUp: value });
    }
  }

  /** Sets `kept` in the bounded map, which may crowd out an older record: aged against `kept` (keepingAtMs). */
  private setKept(key: string, kept: Kept): void {
    this.keepingAtMs = kept.trueUp.keptAtMs;
    try {
      this.kept.set(key, kept.trueUp.target.keyId, kept);
    } finally {
      this.keepingAtMs = undefined;
    }
  }

  private expiredAt(entry: Kept, nowMs: number | undefined): boolean {
    return nowMs !== undefined && nowMs - entry.trueUp.keptAtMs > this.maxAgeMs;
  }

  /** The open record of `id` was changed where it is (an estimate raised): kept so. */
  changed(provider: string, id: string): void {
    const entry = this.kept.get(keyOf(provider, id));
    if (entry) this.journal?.changed(provider, id, entry.trueUp);
  }

  /**
   * A request continued `id` with `promptTokens` of its own in a change rolled back: kept with its open record
   * (TrueUp continuedPromptTokens) and written at once, on its own (a write that fails too leaves it in memory).
   */
  notePrompt(provider: string, id: string, promptTokens: number): void {
    const entry = this.kept.get(keyOf(provider, id));
    if (!entry || promptTokens <= 0) return;
    entry.trueUp.continuedPromptTokens = (entry.trueUp.continuedPromptTokens ?? 0) + promptTokens;
    this.journal?.changed(provider, id, entry.trueUp);
  }

  /** A final state of `id` fetched back before the first bundle (TrueUp finalState): kept with its open record and written at once. */
  noteFinalState(provider: string, id: string, finalState: SeenFinalState): void {
    const entry = this.kept.get(keyOf(provider, id));
    if (!entry) return;
    entry.trueUp.finalState = finalState;
    this.journal?.changed(provider, id, entry.trueUp);
  }

  /** The open record of `id`, still kept (a fetch without usage may raise it), or undefined. */
  find(provider: string, id: string, nowMs: number): TrueUp | undefined {
    this.dropExpired(nowMs);
    return this.kept.get(keyOf(provider, id))?.trueUp;
  }

  /** The open record of `id`, closed from now on: its usage was seen. */
  take(provider: string, id: string, nowMs: number): TrueUp | undefined {
    this.dropExpired(nowMs);
    const entry = this.kept.delete(keyOf(provider, id));
    if (entry) this.forgotten(entry);
    return entry?.trueUp;
  }

  /**
   * `entry` was removed from memory (taken, crowded out, expired): its row goes too, and should the change be rolled
   * back, it is open again as the database still has it, in its place (the first crowded out or expired stays the one
   * that was).
   */
  private forgotten(entry: Kept): void {
    this.changes?.undo(() => this.reinstate(entry));
    this.journal?.removed(entry.provider, entry.id);
  }

  private reinstate(entry: Kept): void {
    const key = keyOf(entry.provider, entry.id);
    if (!this.kept.has(key)) this.kept.putBack(key, entry);
  }

  /**
   * From now on records past their age stay kept (and found) until expireDeferred: charges wait for the first bundle,
   * and closing one charges what it kept. Only those that pass their age during the wait: the start dropped those
   * whose day ran out while Edge was down. One crowded out by its own key meanwhile, past its age, expires all the same.
   */
  deferExpiry(): void {
    this.expiryDeferred = true;
  }

  /**
   * The wait for the first bundle is over (the bundle applied, or Edge stopped before it: chargeDeferred runs either
   * way): records past their age are dropped (told to onDropped) now, and from now on as they expire. Idempotent.
   */
  expireDeferred(nowMs: number): void {
    this.expiryDeferred = false;
    this.dropExpired(nowMs);
  }

  /**
   * Records are kept in the order made, so the expired ones are the first. One dropped by a change rolled back is put
   * back as any other (its row is still there): the next change that holds drops it, row and all.
   */
  private dropExpired(nowMs: number): void {
    if (this.expiryDeferred) return;
    for (let key = this.kept.oldest(); key !== undefined; key = this.kept.oldest()) {
      const entry = this.kept.get(key);
      if (entry && !this.expiredAt(entry, nowMs)) return;
      this.kept.delete(key);
      if (!entry) continue;
      this.forgotten(entry);
      this.onDropped?.(entry.id, entry.trueUp, entry.provider, 'expired');
    }
  }
}

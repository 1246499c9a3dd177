import type { Reservation } from './in-flight.js';
import type { LateChargeTarget } from './late-charge.js';
import type { LimitWindow } from './limits.js';
import type { TrueUp } from './background-true-ups.js';
import type { TokenUsage } from './usage.js';
import type { BackgroundJournal, StoredEntry } from './background-store.js';
import type { LedgerChanges } from './background-change.js';
import { InPlaceBoundedMap } from './background-in-place-map.js';

/**
 * Requests whose work the provider goes on with after their answer ended (a background Responses request, an
 * Assistants run; background-jobs.ts), remembered by the id of what they started until its usage is known.
 *
 * Their answer said `queued` or `in_progress` and reported no usage; the usage comes with the object's final state
 * when the client fetches it back (a poll, a resumed stream, a cancel). That fetch is a retrieval, which is never
 * charged (response-meter.ts generatesAnswer): the usage is charged instead to the request remembered here, once,
 * the first time a final state is seen. Until then Edge keeps what charging it needs (late-charge.ts: its key, its
 * windows, the bundle's prices when it was decided; not the request and its texts) and its prompt's hold
 * (in-flight.ts, held as long as the entry may wait).
 *
 * Bounded, so a client that never polls does not hold a ticket for good: an entry is given up `timeoutMs` after it
 * was remembered (an hour by default); when `maxPerKey` entries of one virtual key are held, that key's oldest;
 * when `maxPending` are held in all, the oldest of any key. The per-key bound keeps one key's flood of cheap
 * requests from crowding out another key's entries. A given-up request is charged its worst case (enforcer.ts,
 * background-output-cap.ts): the prompt and the most answer it allowed itself, since its answer may well have
 * been read another way (a conversation's items, a webhook) and is never fetched back here; charging only the
 * prompt would let that answer go free, and would make crowding an expensive entry out worth a client's while.
 * That charge is provisional: a fetch reporting the final usage later trues it up (background-true-ups.ts), so
 * giving up early overcharges for no longer than the client takes to fetch its work back. With a journal
 * (background-store.ts) the entries outlive a stop and a crash: Edge stopping only stops their timers (stopWaiting),
 * and restored, each waits out the rest of its time. Without one, Edge stopping gives every entry up the same way
 * (giveUpAll; the agent asks it to, before the audit trail closes), since nothing would wait for it after a restart.
 */

export interface BackgroundJob {
  /** Charging it without the request (its texts): the key, prices, and what its record names. */
  target: LateChargeTarget;
  /**
   * The route's token and spend windows when it was decided. Charged as the policy applied then has them: a sync
   * that moved a window's counter since (window-successors.ts) takes the charge along.
   */
  windows: readonly LimitWindow[];
  /** The prompt as Edge estimates it (in-flight.ts), charged when no usage is reported. */
  promptTokens: number;
  /**
   * Answer tokens already seen: of a background stream the client left early, and the most any later fetch of the
   * work carried (a poll in progress, a cancel's answer). Charged when its final state reports no usage.
   */
  outputTokens: number;
  /** The request's own bound on its answer (`max_output_tokens`, `max_completion_tokens`), when it set one. */
  outputCap?: number;
  /** The model the first answer named: prices the estimate of a request naming none. */
  answeredModel?: string;
  /** Its prompt, held in its windows until it is charged (in-flight.ts). */
  hold?: Reservation;
  /**
   * The work was given up and charged an estimate before a request continued it (tool outputs submitted to a run):
   * that record, taken over, so its final state charges only the difference to what it charged (one ledger per id).
   */
  charged?: TrueUp;
  /**
   * Its final state, fetched back while charges wait for the first bundle (background-charging.ts takeUp): kept in its
   * row, so a stop or a crash before that bundle leaves the next start to charge it (not its worst case).
   */
  finalState?: SeenFinalState;
}

/** What a final state fetched back said: its usage (none reported: undefined), the model, the answer it carried. */
export interface SeenFinalState {
  usage?: TokenUsage;
  answeredModel?: string;
  seenOutputTokens: number;
}

export const DEFAULT_BACKGROUND_TIMEOUT_MS = 60 * 60_000;

/**
 * How often a poll's growing answer is written through to the journal (policy.db) per entry, at most: every growing
 * poll wrote its row before, a write on the request's path for an estimate that matters only if the work ends
 * reporting no usage. The answer seen stays exact in memory; what a crash can lose is bounded by this and the step below.
 */
export const ANSWER_WRITE_INTERVAL_MS = 5_000;
/** Answer grown by this much or more since its entry was last written is written at once, however recent that write. */
export const ANSWER_WRITE_STEP_TOKENS = 1_000;
/**
 * Entries are small (no request texts), and one crowded out is charged its worst case only until its usage is seen
 * (a true-up): a batch of tens of thousands of background requests fits.
 */
export const DEFAULT_MAX_PENDING_BACKGROUND = 50_000;

export interface BackgroundResponsesOptions {
  timeoutMs?: number;
  maxPending?: number;
  /** Entries one virtual key may hold; default a tenth of `maxPending` (5,000), at least one. */
  maxPerKey?: number;
  /** An entry was given up (timed out, crowded out, or Edge is stopping): its request is charged its worst case. */
  onGivenUp: (id: string, job: BackgroundJob, provider: string) => void;
  /** Told of every entry remembered, changed and forgotten, to keep them across a restart. */
  journal?: BackgroundJournal<BackgroundJob>;
  /** The clock an entry's wait is counted by (milliseconds). */
  now?: () => number;
  /**
   * Runs one change of the ledger whole or not at all (background-store.ts atomically): an entry given up is forgotten
   * by the journal and charged in one, so a crash between the two cannot lose the charge.
   */
  atomically?: <T>(work: () => T) => T | undefined;
  /** The change running (background-change.ts): told how to undo what it does to the entries, should it be rolled back. */
  changes?: LedgerChanges;
}

/**
 * An entry a rolled-back change had taken or given up is waited for again (background-change.ts), for the rest of its
 * wait but at least this long: one whose wait had run out is given up again then, not in a loop against a full disk.
 */
export const RETRY_AFTER_ROLLBACK_MS = 60_000;

interface Pending {
  provider: string;
  id: string;
  job: BackgroundJob;
  timer?: NodeJS.Timeout;
  /** When its wait runs out (its timer fires). */
  dueAtMs: number;
  /**
   * The answer seen and the prompt as the journal last wrote them, and when: a growing poll is written through only now
   * and then; a continuation's prompt at once, but a write rolled back leaves it in memory only (notePrompt).
   */
  written: { outputTokens: number; promptTokens: number; atMs: number };
}

export class BackgroundResponses {
  private readonly pending: InPlaceBoundedMap<Pending>;
  readonly timeoutMs: number;
  private readonly now: () => number;
  /**
   * Give-ups put off while charging waits for the first bundle (deferGiveUps): the keys whose wait ran out, still
   * waiting (a fetch meanwhile still charges their usage), and the entries crowded out, by key: still found and taken
   * by their id (a fetch meanwhile charges their usage too, not their worst case). Made by giveUpDeferred.
   */
  private deferred: { due: Set<string>; crowdedOut: Map<string, Pending> } | undefined;

  constructor(private readonly options: BackgroundResponsesOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BACKGROUND_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_BACKGROUND;
    const maxPerKey = options.maxPerKey ?? Math.max(1, Math.floor(maxPending / 10));
    // The key's own oldest first: its flood gives up its own entries, not another key's.
    this.pending = new InPlaceBoundedMap(maxPending, maxPerKey, (key, entry) => {
      const deferred = this.deferred;
      if (!deferred) return this.givenUp(entry);
      deferred.crowdedOut.set(key, entry);
      this.options.changes?.undo(() => {
        if (deferred.crowdedOut.get(key) === entry) deferred.crowdedOut.delete(key);
        this.reinstate(entry);
      });
    }, (entry) => entry.job.target.keyId);
  }

  get size(): number {
    return this.pending.size;
  }

  /** The request whose usage Edge waits for under `id` at `provider` (its key is who a continuation settles with), or undefined. */
  find(provider: string, id: string): BackgroundJob | undefined {
    return this.entryOf(provider, id)?.job;
  }

  /**
   * The entry waited for under `id`, or crowded out and not given up yet (deferGiveUps): whatever finds it settles
   * through it, so whatever it learns (a continuation's prompt, the answer seen, a final state) must go to it too.
   */
  private entryOf(provider: string, id: string): Pending | undefined {
    const key = keyOf(provider, id);
    return this.pending.get(key) ?? this.deferred?.crowdedOut.get(key);
  }

  /**
   * Remembers the request that started `id` at `provider`. False when something already waits under that id: a
   * request continuing the same run (submitting tool outputs) adds nothing, the run's usage covers all of it.
   */
  remember(provider: string, id: string, job: BackgroundJob): boolean {
    const key = keyOf(provider, id);
    if (this.pending.has(key)) return false;
    const rememberedMs = this.now();
    const entry: Pending = { provider, id, job, written: writtenAs(job, rememberedMs), dueAtMs: rememberedMs + this.timeoutMs };
    this.hold(key, entry, this.timeoutMs);
    this.options.changes?.undo(() => {
      if (this.pending.get(key) !== entry) return;
      this.pending.delete(key);
      clearTimeout(entry.timer);
    });
    this.options.journal?.added(provider, id, job.target.keyId, job, rememberedMs);
    return true;
  }

  /**
   * Takes up the entries an earlier run of Edge left waiting (oldest first), each for the rest of its time: one whose
   * time is over is given up as soon as this returns.
   */
  restore(entries: ReadonlyArray<StoredEntry<BackgroundJob>>): void {
    const nowMs = this.now();
    for (const { provider, id, value: job, sinceMs } of entries) {
      const key = keyOf(provider, id);
      const waitMs = Math.max(0, sinceMs + this.timeoutMs - nowMs);
      if (!this.pending.has(key)) this.hold(key, { provider, id, job, written: writtenAs(job, nowMs), dueAtMs: nowMs + waitMs }, waitMs);
    }
  }

  private hold(key: string, entry: Pending, waitMs: number): void {
    // Held before its timer starts: one crowded out meanwhile has none to clear.
    this.pending.set(key, entry.job.target.keyId, entry);
    this.wait(key, entry, waitMs);
  }

  private wait(key: string, entry: Pending, waitMs: number): void {
    // One timer an entry: a wait started again (reinstate) replaces the one before, never runs beside it.
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => (this.deferred ? this.deferred.due.add(key) : this.giveUp(key)), waitMs);
    // A timer must not keep a stopping process alive: Edge stopping gives every entry up itself.
    entry.timer.unref();
  }

  /**
   * An entry a rolled-back change removed, waited for again as the database still has it: in its place among the key's
   * entries (the one crowded out first stays the oldest), for the rest of its wait (see RETRY_AFTER_ROLLBACK_MS).
   */
  private reinstate(entry: Pending): void {
    const key = keyOf(entry.provider, entry.id);
    if (this.pending.has(key)) return;
    this.pending.putBack(key, entry);
    this.wait(key, entry, Math.max(RETRY_AFTER_ROLLBACK_MS, entry.dueAtMs - this.now()));
  }

  /**
   * A fetch of `id` carried `outputTokens` of answer (each carries the output so far, not what is new): the most
   * seen is what its request is charged if its final state reports no usage.
   *
   * Kept exact in memory, but written through only when ANSWER_WRITE_INTERVAL_MS has passed since the entry was last
   * written, or the answer grew by ANSWER_WRITE_STEP_TOKENS or more since; always on a clean stop (stopWaiting), and
   * a final state removes the row anyway. Why a crash between two writes loses no charge that matters: nothing of a
   * waiting entry is charged yet, and what it holds (its prompt, in-flight.ts) and any estimate it took over
   * (`charged`) are written at once (remember, notePrompt), so the row is never below what was charged or held (but
   * for a continuation's prompt whose write was rolled back: written by the next fetch, whatever it carried). The
   * answer seen is only the floor of an estimate: given up, the entry is charged its worst case, at least its bound
   * (background-output-cap.ts), whatever the row says; ended reporting no usage, the estimate is short by less than
   * ANSWER_WRITE_STEP_TOKENS, and stays open for a true-up by the usage a later fetch reports. One exception on a
   * give-up: an answer past the request's bound (with none set, past 32,768 tokens: background-output-cap.ts) makes
   * the row's answer its worst case, so that too can be short by less than the step.
   */
  noteAnswer(provider: string, id: string, outputTokens: number): void {
    const entry = this.entryOf(provider, id);
    if (!entry) return;
    const grew = outputTokens > entry.job.outputTokens;
    if (grew) entry.job.outputTokens = outputTokens;
    const grown = entry.job.outputTokens - entry.written.outputTokens;
    const due = grew && (grown >= ANSWER_WRITE_STEP_TOKENS || this.now() - entry.written.atMs >= ANSWER_WRITE_INTERVAL_MS);
    if (due || hasUnwrittenPrompt(entry)) this.write(entry);
  }

  /**
   * A request continued `id` (tool outputs submitted to a run) with `promptTokens` of its own: the run reads them as
   * prompt too, so its estimate (its final state reporting no usage, or given up) grows by them. Written at once:
   * the prompt is what the entry is charged at the least.
   *
   * A write rolled back (a full disk) leaves the prompt in memory all the same: the continuation is then settled through
   * the entry still (background-charging.ts continueWork: charged as an exchange too, the run would be charged twice),
   * so the entry is the only place its prompt is charged. The row keeps the prompt before it until a later write of the
   * entry (the next poll's, at once: hasUnwrittenPrompt) or a clean stop (stopWaiting) writes it.
   */
  notePrompt(provider: string, id: string, promptTokens: number): void {
    const entry = this.entryOf(provider, id);
    if (!entry) return;
    entry.job.promptTokens += promptTokens;
    this.write(entry);
  }

  private write(entry: Pending): void {
    // Rolled back, the row still has what it had: the next write, or a clean stop, writes the answer and prompt again.
    const before = entry.written;
    this.options.changes?.undo(() => { entry.written = before; });
    entry.written = writtenAs(entry.job, this.now());
    this.options.journal?.changed(entry.provider, entry.id, entry.job);
  }

  /**
   * A final state of `id` fetched back while charges wait for the first bundle (deferGiveUps): kept with its entry and
   * written at once, so whatever charges it later (the first bundle, the next start, a give-up) charges what it said.
   */
  noteFinalState(provider: string, id: string, finalState: SeenFinalState): void {
    const entry = this.entryOf(provider, id);
    if (!entry) return;
    entry.job.finalState = finalState;
    entry.job.outputTokens = Math.max(entry.job.outputTokens, finalState.seenOutputTokens);
    this.write(entry);
  }

  /** The request that started `id`, forgotten from now on: its final state was seen. */
  take(provider: string, id: string): BackgroundJob | undefined {
    const key = keyOf(provider, id);
    const crowdedOut = this.deferred?.crowdedOut;
    const entry = this.pending.delete(key);
    if (!entry) return this.takeCrowdedOut(key, crowdedOut);
    clearTimeout(entry.timer);
    this.forgotten(entry);
    return entry.job;
  }

  /** `entry` was removed from memory (taken, given up): its row goes too, and a rolled-back change puts it back in its place. */
  private forgotten(entry: Pending): void {
    this.options.changes?.undo(() => this.reinstate(entry));
    this.options.journal?.removed(entry.provider, entry.id);
  }

  /** An entry crowded out while give-ups are put off, taken before it was given up: charged by its final state instead. */
  private takeCrowdedOut(key: string, crowdedOut: Map<string, Pending> | undefined): BackgroundJob | undefined {
    const entry = crowdedOut?.get(key);
    if (!crowdedOut || !entry) return undefined;
    crowdedOut.delete(key);
    this.options.changes?.undo(() => { crowdedOut.set(key, entry); });
    this.options.journal?.removed(entry.provider, entry.id);
    return entry.job;
  }

  /**
   * Entries given up from now on (their wait ran out, or crowded out) are charged only once giveUpDeferred is called:
   * their worst case goes to the windows of a policy that is not applied yet (background-charging.ts takeUp). Until
   * then each keeps its row, and one whose wait ran out stays found, so a fetch of its final state still charges it.
   */
  deferGiveUps(): void {
    this.deferred ??= { due: new Set(), crowdedOut: new Map() };
  }

  /** Gives up what deferGiveUps put off (crowded out first, then those whose wait ran out), and defers no longer. */
  giveUpDeferred(): void {
    const deferred = this.deferred;
    this.deferred = undefined;
    if (!deferred) return;
    for (const entry of deferred.crowdedOut.values()) this.givenUp(entry);
    for (const key of deferred.due) this.giveUp(key);
  }

  /** Gives every entry up (Edge is stopping, and nothing keeps the entries for the next start). */
  giveUpAll(): void {
    for (let key = this.pending.oldest(); key !== undefined; key = this.pending.oldest()) this.giveUp(key);
  }

  /**
   * Edge is stopping and the journal keeps the entries for the next start: their timers stop (none fires into a
   * closed database), and nothing is given up or forgotten, so the next start waits out the rest of each one's time.
   */
  stopWaiting(): void {
    // What was put off stays in the journal as it is, for the next start (entries crowded out too: the answer seen of
    // one is noted as of any, so it is written as well).
    const crowdedOut = [...(this.deferred?.crowdedOut.values() ?? [])];
    this.deferred = undefined;
    const stopped: Pending[] = [];
    for (let key = this.pending.oldest(); key !== undefined; key = this.pending.oldest()) {
      const entry = this.pending.delete(key);
      if (entry) stopped.push(entry);
    }
    const unwritten: Pending[] = [];
    for (const entry of [...crowdedOut, ...stopped]) {
      clearTimeout(entry.timer);
      entry.job.hold?.release();
      if (entry.job.outputTokens > entry.written.outputTokens || hasUnwrittenPrompt(entry)) unwritten.push(entry);
    }
    // The answer seen since each one's last write (noteAnswer), and a prompt whose write was rolled back (notePrompt),
    // are kept too, in one transaction.
    if (unwritten.length === 0) return;
    const writeAll = () => { for (const entry of unwritten) this.write(entry); };
    if (this.options.atomically) this.options.atomically(writeAll);
    else writeAll();
  }

  private giveUp(key: string): void {
    const entry = this.pending.delete(key);
    if (entry) this.givenUp(entry);
  }

  private givenUp(entry: Pending): void {
    clearTimeout(entry.timer);
    const change = () => {
      // Removed by whoever gave it up (its timer, crowding out): back if the give-up is rolled back.
      this.forgotten(entry);
      this.options.onGivenUp(entry.id, entry.job, entry.provider);
    };
    if (this.options.atomically) this.options.atomically(change);
    else change();
  }
}

function writtenAs(job: BackgroundJob, atMs: number): Pending['written'] {
  return { outputTokens: job.outputTokens, promptTokens: job.promptTokens, atMs };
}

/** A continuation's prompt is in memory but not in the row (its write was rolled back): written at the first chance. */
function hasUnwrittenPrompt(entry: Pending): boolean {
  return entry.job.promptTokens > entry.written.promptTokens;
}

/** Ids are the provider's: the same id at two providers names two objects. */
export function keyOf(provider: string, id: string): string {
  return `${provider}\u0000${id}`;
}

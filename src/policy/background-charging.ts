import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import type { NormalizedRequest } from '../providers/types.js';
import { isPendingStatus, type JobState } from './background-jobs.js';
import { HandedOverEstimates, runIdOf } from './background-handed-over.js';
import { worstCaseOutputTokens } from './background-output-cap.js';
import { BackgroundResponses, DEFAULT_BACKGROUND_TIMEOUT_MS, keyOf, type BackgroundJob, type SeenFinalState } from './background-responses.js';
import { LedgerChanges } from './background-change.js';
import { BackgroundWriteFailed, type SqliteBackgroundStore } from './background-store.js';
import { BackgroundTrueUps, type TrueUp, type TrueUpWindow } from './background-true-ups.js';
import type { CounterStore } from './counter-store.js';
import type { Reservation } from './in-flight.js';
import { priceOf, type LateChargeTarget } from './late-charge.js';
import type { LimitWindow } from './limits.js';
import type { Notice } from './notices.js';
import { createResponseMeter, type ResponseMeter, type ResponseMeterInput } from './response-meter.js';
import { allKeyWindows } from './status-data.js';
import { answerCounter, usageEstimate } from './unreported-usage.js';
import type { TokenUsage } from './usage.js';
import type { PublishWhen, UsageCharge, WindowCharges } from './window-charges.js';
import { timingOf } from './window-charges.js';
import { windowIdentity } from './window-succession.js';
import { successorWindows, windowsFollowed } from './window-successors.js';

/**
 * Charging work a provider goes on with after its answer ended (a background response, an Assistants run;
 * background-jobs.ts) once its exchange is over: with the usage its final state reports when the client fetches it
 * back (a final state reporting none, a cancel's: the prompt and the most answer text any fetch carried), or its
 * worst case when Edge gives it up after a bound: the prompt and the most answer it allowed itself
 * (background-responses.ts, background-output-cap.ts). An estimate stays open for a day: a later fetch reporting the
 * usage trues it up, charging the rest or giving the excess back (background-true-ups.ts). Each such late charge is
 * told to `onBackgroundCharge`, which records it.
 *
 * The enforcer keeps what belongs to the request (its ticket, its hold) and hands this module only what charging the
 * work needs once the exchange is over (late-charge.ts).
 */

/** A charge made to a request after its exchange was over (see onBackgroundCharge). */
export interface BackgroundCharge {
  /** The request that started the work, and where it went (its own record's method, host and path). */
  request: Pick<NormalizedRequest, 'provider' | 'model' | 'operation'>;
  target: { method: string; host: string; path: string };
  app: string;
  /** The provider's id of the response or run. */
  id: string;
  /**
   * The usage its final state reported, or Edge's estimate (`estimated`): the prompt and the answer seen when it
   * reported none, the prompt and the most answer the request allowed when it was given up. With `trueUp`: the
   * usage now known (or the estimate raised), of which only the difference is charged now.
   */
  charge: UsageCharge;
  /**
   * Set when this corrects an earlier estimate of the same work (background-true-ups.ts): what was charged before,
   * and the difference charged now (negative: given back). `refundedInFull` is false when part of an amount to give
   * back stayed charged, because the window it went to has rolled over since.
   */
  trueUp?: TrueUpNote;
}

export interface TrueUpNote {
  before: { usage: TokenUsage; costUsd: number };
  difference: { totalTokens: number; costUsd: number };
  refundedInFull: boolean;
  /**
   * Why it is corrected now: its usage was fetched back, or a fetch carried more answer, or its own key crowded it
   * out; or, continued after it was given up (tool outputs submitted to a run), given up again or ended reporting no usage;
   * or continued under another key, which is charged the run's whole usage: the whole estimate given back; or closed
   * past its age (a day) with the prompt of a continuation it kept still to charge (TrueUp continuedPromptTokens).
   */
  cause: 'usage_reported' | 'more_answer_seen' | 'crowded_out' | 'given_up' | 'no_usage' | 'continued_under_another_key' | 'expired';
  /**
   * Windows it was charged to that the policy applied now no longer has (removed, or a new reset duration: a new
   * window, which never counted the estimate): left as they were, not corrected. Named by their counter keys.
   */
  windowsGone: string[];
}

export interface BackgroundChargingOptions {
  counters: CounterStore;
  charges: WindowCharges;
  /** The bundle applied now: a correction goes to its windows. */
  bundle: () => PolicyBundle | undefined;
  now: () => Date;
  onError: (err: unknown, context: string) => void;
  /** How long a background response's usage is waited for. Default DEFAULT_BACKGROUND_TIMEOUT_MS, an hour. */
  timeoutMs?: number;
  /** Work waited for, and estimates open, in all (a tenth of each for one key): defaults 50,000 each. */
  maxPending?: number;
  maxTrueUps?: number;
  onBackgroundCharge?: (charged: BackgroundCharge) => void;
  /**
   * Where the work is kept across a restart (the policy database): what an earlier run left is taken up by `takeUp`,
   * so a fetch after a restart charges or trues up as if there had been none. Without it, in memory only.
   */
  store?: SqliteBackgroundStore;
  /** Holds a restored entry's prompt in its windows again (in-flight.ts), for as long as it may wait (`maxAgeMs`). */
  holdPrompt?: (job: BackgroundJob, maxAgeMs: number) => Reservation | undefined;
}

/** A final state fetched back: what settling it needs. */
interface FinalState {
  provider: string;
  id: string;
  usage: TokenUsage | undefined;
  answeredModel: string | undefined;
  seenOutputTokens: number;
}

/** What a request continuing tracked work (tool outputs submitted to a run) brings to it. */
export interface Continuation {
  provider: string;
  job: JobState;
  /** The key the continuation was sent under. */
  keyId: string;
  /** Its own prompt, as Edge estimates it (the run reads it as prompt too). */
  promptTokens: number;
  usage: TokenUsage | undefined;
  outputTokens: number;
  answeredModel: string | undefined;
}

/**
 * Operations (openai-compatible.ts) that fetch back a stored response or Assistants run: `GET /responses/{id}` (also
 * streamed again, or resumed, with `?stream=true`), `POST /responses/{id}/cancel`, `GET` and the cancel of
 * `/threads/{thread}/runs/{run}`.
 */
const FETCHES_BACK_WORK: ReadonlySet<string> = new Set(['responses', 'threads']);

/** A fetched-back answer read whole for its text, up to this: a 100,000-token answer is about 400 KB of JSON. */
const MAX_FETCHED_BACK_JSON_BYTES = 4 * 1024 * 1024;

/** What a key that handed work over to another is charged for it once the run's usage is known: nothing. */
const NO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 };

export class BackgroundCharging {
  /** Requests whose background response's usage is still to come. */
  private readonly background: BackgroundResponses;
  /** Background requests charged an estimate, open for the usage a later fetch reports. */
  private readonly trueUps: BackgroundTrueUps;
  /**
   * Estimates of work continued under another key since (handOverToOtherKey), each key's apart, open until the run's
   * usage is known: then given back whole when the new key paid the run, the newest trued up to it otherwise
   * (closeHandedOver).
   */
  private readonly handedOver: HandedOverEstimates;
  /** How long a background response's request holds its prompt: as long as its entry may wait, and a minute for a late timer. */
  readonly holdMs: number;
  /** What an earlier run left was taken up (takeUp runs once). */
  private takenUp = false;
  /**
   * Final states fetched back while charges wait for the first bundle (takeUp `deferCharges`), one per work (by
   * keyOf), in the order seen: settled by chargeDeferred. Undefined when charges are made at once.
   */
  private deferredFinalStates: Map<string, FinalState> | undefined;
  /** The memory side of the change running (atomically): undone if its writes are rolled back. */
  private readonly changes = new LedgerChanges((err, context) => this.options.onError(err, context));

  constructor(private readonly options: BackgroundChargingOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_BACKGROUND_TIMEOUT_MS;
    const { store, onError } = options;
    this.background = new BackgroundResponses({
      timeoutMs,
      ...(options.maxPending !== undefined ? { maxPending: options.maxPending } : {}),
      // One whose final state was fetched back (before the first bundle) is charged what that said, not its worst case.
      onGivenUp: (id, job, provider) => this.chargeWaiting(provider, id, job, job.finalState?.usage, job.finalState?.answeredModel, !job.finalState),
      now: () => options.now().getTime(),
      // Its row deleted and its worst case charged in one transaction (a timer's give-up is a change of its own).
      atomically: (work) => this.atomically(work),
      changes: this.changes,
      ...(store ? { journal: store.journal<BackgroundJob>('waiting', onError) } : {}),
    });
    this.trueUps = new BackgroundTrueUps({
      onCrowdedOut: (id, trueUp) => this.raiseToWorstCase(id, trueUp),
      onDropped: (id, trueUp, _provider, why) => this.closeAsItStands(id, trueUp, why === 'all_keys' ? 'crowded_out' : 'expired'),
      ...(options.maxTrueUps !== undefined ? { maxEntries: options.maxTrueUps } : {}),
      changes: this.changes,
      ...(store ? { journal: store.journal<TrueUp>('true_up', onError) } : {}),
    });
    this.handedOver = new HandedOverEstimates(store?.journal<TrueUp>('handed_over', onError), this.changes);
    this.holdMs = timeoutMs + 60_000;
  }

  /**
   * Takes up what an earlier run of Edge left in the store (background-store.ts), once: estimates first, so work
   * waited for whose time ran out meanwhile, given up now, finds them as they were. Not in the constructor: work given
   * up here is charged to the windows of the policy applied now (a sync may have moved their counters) and recorded,
   * so the agent calls it once the audit trail is open. Until then the rows stay as they are (a start that fails
   * before leaves them for the next one).
   *
   * With `deferCharges` (no bundle applied yet, and one is coming: the enforcer's takeUpBackground), the work is taken
   * up all the same, so a fetch of its final state meanwhile is recognised (the decision fails open without a bundle,
   * and the fetch goes through): unrecognised, its usage went unseen and the work was later charged its worst case.
   * What needs windows waits for chargeDeferred: give-ups (a wait that ran out, crowding out), estimates passing their
   * age meanwhile (closing one charges what it kept; those past it already were dropped as the rows were loaded) and the
   * final states fetched back, each settled then as it would have been at once. A final state fetched is written into
   * the row of what tracks the work too (deferFinalState: its entry waited for, its open estimate, or the newest estimate of a key it
   * was handed over from): a stop or crash before that bundle leaves the next start to settle it (at once, or again when
   * the first bundle comes), not to charge the work its worst case or leave its estimates standing.
   */
  takeUp(options: { deferCharges?: boolean } = {}): void {
    const { store } = this.options;
    if (!store || this.takenUp) return;
    this.takenUp = true;
    if (options.deferCharges) {
      this.deferredFinalStates = new Map();
      this.background.deferGiveUps();
      this.trueUps.deferExpiry();
    }
    try {
      const nowMs = this.options.now().getTime();
      const trueUps = store.load<TrueUp>('true_up', nowMs, this.trueUps.maxAgeMs);
      this.trueUps.restore(trueUps);
      const handedOver = store.load<TrueUp>('handed_over', nowMs, this.handedOver.maxAgeMs);
      this.handedOver.restore(handedOver);
      const waiting = store.load<BackgroundJob>('waiting', nowMs, Number.POSITIVE_INFINITY);
      store.pruneAfterLoad();
      // Held again as it was before the restart, so requests decided meanwhile count the prompt still to be charged.
      for (const { value: job } of waiting) {
        const hold = this.options.holdPrompt?.(job, this.holdMs);
        if (hold) job.hold = hold;
      }
      this.background.restore(waiting);
      for (const { provider, id, value: job } of waiting) {
        const seen = job.finalState;
        // Still waited for (not crowded out and given up by restore, which charged what it said).
        if (!seen || this.background.find(provider, id) !== job) continue;
        this.settleSavedFinalState(provider, id, seen);
      }
      // Kept with estimates (deferFinalState) of work still open: settled as those of work waited for.
      for (const { provider, id, value } of [...trueUps, ...handedOver.map((e) => ({ ...e, id: runIdOf(e.id) }))]) {
        const seen = value.finalState;
        if (seen && (this.trueUps.find(provider, id, nowMs) || this.handedOver.holds(provider, id, nowMs))) this.settleSavedFinalState(provider, id, seen);
      }
    } catch (err) {
      this.options.onError(err, 'taking up the background work an earlier run left');
    }
  }

  /** A final state an earlier run kept in a row (deferFinalState): settled now, or with the first bundle (chargeDeferred). */
  private settleSavedFinalState(provider: string, id: string, seen: SeenFinalState): void {
    const finalState: FinalState = { provider, id, usage: seen.usage, answeredModel: seen.answeredModel, seenOutputTokens: seen.seenOutputTokens };
    if (this.deferredFinalStates) this.deferredFinalStates.set(keyOf(provider, id), finalState);
    else this.atomically(() => this.settleFinalState(provider, id, seen.usage, seen.answeredModel, seen.seenOutputTokens));
  }

  /**
   * The first bundle is applied: the charges takeUp put off are made, in the order they came (final states fetched
   * back first, so work whose wait ran out meanwhile but whose usage was fetched is charged that usage), and from now
   * on at once.
   */
  chargeDeferred(): void {
    const finalStates = this.deferredFinalStates;
    this.deferredFinalStates = undefined;
    try {
      for (const s of finalStates?.values() ?? []) this.atomically(() => this.settleFinalState(s.provider, s.id, s.usage, s.answeredModel, s.seenOutputTokens));
      // Estimates that expired meanwhile close now, with windows to charge what they kept: after the final states, which
      // may settle them. Whether or not any final state was put off: a stop before the bundle (releaseAll) drops those,
      // and estimates kept past their age must still expire from now on.
      this.expireDeferredEstimates();
    } finally {
      // Work whose wait ran out is given up whatever a final state or a close did: left, it was never charged.
      this.background.giveUpDeferred();
    }
  }

  /** The estimates past their age, kept while charges waited for the first bundle, closed: one that fails to is told, not thrown. */
  private expireDeferredEstimates(): void {
    try {
      this.atomically(() => this.trueUps.expireDeferred(this.options.now().getTime()));
    } catch (err) {
      this.options.onError(err, 'closing the estimates that expired before the first bundle');
    }
  }

  /**
   * One change of the ledger, written at once (background-store.ts atomically): a crash keeps it whole or not at all.
   * Undefined when a write failed and the change was rolled back (told to onError): memory is then as before it
   * (background-change.ts), and nothing of it was recorded, so the work is still waited for or open as the database
   * has it. Inside a change already, part of that one.
   */
  private atomically<T>(work: () => T): T | undefined {
    const { store, onError } = this.options;
    if (!store || this.changes.active) return work();
    let rolledBack = false;
    return this.changes.run(() => store.atomically(work, (err, context) => {
      rolledBack = true;
      onError(err, context);
    }), () => rolledBack);
  }

  /**
   * A counter write failed. Inside a transaction (a change atomically writes, or one around it) it fails the change
   * whole, as a journal write does: swallowed, the rest committed without that charge (an estimate kept, a row
   * forgotten, the record written: the charge lost for good). Outside one, told and gone on with.
   */
  private counterWriteFailed(err: unknown, context: string): void {
    if (this.options.store?.failsWhole) throw new BackgroundWriteFailed(context, err);
    this.options.onError(err, context);
  }

  /** A late charge's budget alert goes out once its change commits: one rolled back charged nothing (window-charges.ts PublishWhen). */
  private readonly publishWhenCommitted: PublishWhen = (publish) => this.changes.afterCommit(publish);

  /** Whether any work is waited for or open for a true-up: nothing to look up otherwise. */
  private get tracksAny(): boolean {
    return this.background.size > 0 || this.trueUps.size > 0 || this.handedOver.size > 0;
  }

  /**
   * Edge is stopping. With a store, work waited for stays in it as it is (only its timers stop): the next start waits
   * out the rest of its time, and a fetch after it charges the usage. Without one, nothing would be waiting for its
   * usage after a restart: each is charged its worst case now (reported through onBackgroundCharge).
   */
  releaseAll(): void {
    this.deferredFinalStates = undefined;
    if (this.options.store) this.background.stopWaiting();
    else this.background.giveUpAll();
  }

  /**
   * Remembers a request whose answer says the provider goes on working after it, by the id of that work (the
   * enforcer hands over its hold). False when something already waits under that id.
   */
  leaveRunning(provider: string, id: string, waiting: BackgroundJob): boolean {
    // Remembering may crowd out the key's oldest, charged its worst case: one change.
    const remembered = this.atomically(() => {
      const added = this.background.remember(provider, id, waiting);
      // Work continued under another key is that key's from now on: it pays the run (closeHandedOver).
      if (added && this.handedOver.size > 0) this.handedOver.noteTakenOver(provider, id, this.options.now().getTime());
      return added;
    });
    // A write that failed: remembered or not as memory has it (charged at once as well, it would be charged twice).
    return remembered ?? this.background.find(provider, id) === waiting;
  }

  /**
   * The answer of a generating request reports work Edge already tracks under that id: a request continuing it
   * (tool outputs submitted to a run, its answer JSON or a stream). The work's usage covers the continuation, so it is
   * settled through the work, never charged or estimated as an exchange of its own: still pending, Edge goes on
   * waiting (a record of work given up and charged an estimate becomes the entry's starting point); final, the work
   * is charged, or its estimate trued up, as a fetch of that state would. False when Edge tracks no such work, or
   * tracks it under another key (handOverToOtherKey): the request is then charged as an exchange of its own.
   */
  continueWork(c: Continuation): boolean {
    if (!this.tracksAny) return false;
    const waiting = this.background.find(c.provider, c.job.id);
    const open = waiting ? undefined : this.trueUps.find(c.provider, c.job.id, this.options.now().getTime());
    const tracked = waiting ?? open;
    // Taken from one collection and kept in another (or settled): one change. A write that failed rolls it back, memory
    // too, but for the continuation's prompt: the work stays tracked, and whatever settles it later covers the
    // continuation (its usage is the run's; charged as an exchange as well, it would be charged twice), so its prompt
    // stays with the work, to be charged if the run reports no usage. A waiting entry keeps it from notePrompt
    // (background-responses.ts, written later); an open estimate keeps it apart (TrueUp continuedPromptTokens).
    const continued = this.atomically(() => this.continueTracked(c));
    if (continued !== undefined) return continued;
    if (open && open.target.keyId === c.keyId && isPendingStatus(c.job.status)) this.trueUps.notePrompt(c.provider, c.job.id, c.promptTokens);
    return tracked?.target.keyId === c.keyId;
  }

  private continueTracked(c: Continuation): boolean {
    const { provider, job } = c;
    const nowMs = this.options.now().getTime();
    const waiting = this.background.find(provider, job.id);
    const open = waiting ? undefined : this.trueUps.find(provider, job.id, nowMs);
    const tracked = waiting ?? open;
    if (!tracked || tracked.target.keyId !== c.keyId) {
      if (tracked) this.handOverToOtherKey(provider, job.id, nowMs);
      // Charged as an exchange of its own, with the run's usage: the new key paid the whole run, the old key's estimate goes back.
      if (c.usage && !isPendingStatus(job.status)) this.closeHandedOver(provider, job.id, c.usage, c.answeredModel, true);
      return false;
    }
    if (!isPendingStatus(job.status)) {
      this.settleFinalState(provider, job.id, c.usage, c.answeredModel, c.outputTokens);
    } else if (waiting) {
      this.background.notePrompt(provider, job.id, c.promptTokens);
      this.background.noteAnswer(provider, job.id, c.outputTokens);
    } else if (open) {
      // Given up, then continued: the run goes on, and its usage will cover both. Waited for again, from what the
      // estimate charged: the prompt grows by the continuation's, the worst case answer stays.
      this.takeEstimate(provider, job.id, nowMs);
      const promptTokens = open.usage.inputTokens + this.takeContinuedPrompt(open) + c.promptTokens;
      this.background.remember(provider, job.id, {
        target: open.target, windows: [], promptTokens, outputTokens: c.outputTokens,
        outputCap: open.worstCaseOutputTokens, charged: open, ...(open.answeredModel !== undefined ? { answeredModel: open.answeredModel } : {}),
      });
    }
    return true;
  }

  /**
   * A request sent under another key than the one Edge tracks `id` under continued it (a sync moved the device to
   * another key while the run waited): the work is that key's from now on. Settling it through the old key would
   * charge the continuation, and the run's final usage, to a key that no longer sends (or no longer exists), out of
   * reach of the limits of the key that does. So the continuation is charged to its own key as any exchange (its
   * usage: the run's, cumulative; or its estimate; still pending, it is waited for under its own key), and the old
   * key's entry is closed: a run waited for, at nothing (its hold given back); one given up, at its estimate for now,
   * raised by the prompt of continuations this key made since (charged nowhere else should the run report no usage).
   * Once the run's usage is known, the old key's estimate is closed (closeHandedOver): given back whole when the new
   * key was charged that usage, so the run is counted once; trued up to it otherwise.
   */
  private handOverToOtherKey(provider: string, id: string, nowMs: number): void {
    const waiting = this.background.take(provider, id);
    this.changes.afterCommit(() => waiting?.hold?.release());
    const open = waiting?.charged ?? this.takeEstimate(provider, id, nowMs);
    if (!open) return;
    // The prompt of continuations this key made, the other key's run may never report usage to cover: kept apart by an
    // estimate (TrueUp continuedPromptTokens), or grown into the prompt of the entry waiting again from it (continueTracked).
    this.chargeContinuedPrompt(id, open, 'continued_under_another_key');
    if (waiting && waiting.promptTokens > open.usage.inputTokens) {
      this.adjustTrueUp(id, open, usageEstimate(waiting.promptTokens, open.usage.outputTokens), true, undefined, 'continued_under_another_key');
    }
    this.handedOver.keep(provider, id, open, nowMs);
  }

  /**
   * The usage of `id` is known, and estimates of it stay with the keys it was taken from (handOverToOtherKey: one a
   * hand-over, A's and then B's when A's run went on under B and then under C), their records closed now. The run is
   * paid once. When the key that continued it last was charged that whole usage (`newKeyCharged`: the continuation
   * answered with it, or its own entry or estimate was settled with it), every old key is given back its whole
   * estimate, as a true-up to nothing would be. Otherwise nobody paid the run (the continuation ended reporting no
   * usage and was charged an estimate of its own text, and nothing waits for it under the new key): the newest
   * estimate, of the key that held the run last, is trued up to the usage, as if there had been no hand-over after
   * it, and each older one given back whole. Until the usage is known the estimates stand.
   */
  private closeHandedOver(provider: string, id: string, usage: TokenUsage, answeredModel: string | undefined, newKeyCharged: boolean): void {
    if (this.handedOver.size === 0) return;
    const estimates = this.handedOver.takeAll(provider, id, this.options.now().getTime());
    // Taken over, the new key paid the run even when its own entry or estimate is gone by now and could not say so.
    const payer = newKeyCharged || estimates.at(-1)?.takenOver ? undefined : estimates.at(-1);
    for (const open of estimates) {
      if (open === payer) this.adjustTrueUp(id, open, usage, false, answeredModel, 'usage_reported');
      else if (open.usage.totalTokens > 0 || open.costUsd > 0) this.adjustTrueUp(id, open, NO_USAGE, false, answeredModel, 'continued_under_another_key');
    }
  }

  /**
   * Meters a fetch of stored work (a retrieval, a resumed stream, a cancel: never charged as such): when it reports
   * the final state of a background response or run Edge is waiting for, that usage is charged to the request that
   * started it, once; of one charged an estimate (background-true-ups.ts), the estimate is trued up. Undefined when
   * Edge waits for none, or the route fetches no response or run.
   */
  meterFetchedBack(request: Pick<NormalizedRequest, 'provider' | 'operation'>, response: ResponseMeterInput): ResponseMeter | undefined {
    if (!this.tracksAny || !FETCHES_BACK_WORK.has(request.operation)) return undefined;
    // The answer text it carries (a poll in progress, a cancel's answer: the output so far) is what is charged if
    // the final state reports no usage. Read from the meter's own decoded bytes, before the meter reports.
    const answer = answerCounter(response, MAX_FETCHED_BACK_JSON_BYTES);
    return createResponseMeter(response, (usage, answeredModel, job) => {
      if (!job) return;
      const seen = answer?.outputTokens() ?? 0;
      if (isPendingStatus(job.status)) this.background.noteAnswer(request.provider, job.id, seen);
      else if (this.deferredFinalStates) this.deferFinalState({ provider: request.provider, id: job.id, usage, answeredModel, seenOutputTokens: seen });
      else this.atomically(() => this.settleFinalState(request.provider, job.id, usage, answeredModel, seen));
    }, answer);
  }

  /**
   * A final state fetched back before the first bundle, of work Edge tracks: kept for chargeDeferred. One per work:
   * the first seen, replaced by a later one only when that reports the usage and the first did not.
   */
  private deferFinalState(seen: FinalState): void {
    const deferred = this.deferredFinalStates;
    const nowMs = this.options.now().getTime();
    const tracked = this.background.find(seen.provider, seen.id) ?? this.trueUps.find(seen.provider, seen.id, nowMs) ?? this.handedOver.holds(seen.provider, seen.id, nowMs);
    if (!deferred || !tracked) return;
    const key = keyOf(seen.provider, seen.id);
    const first = deferred.get(key);
    if (!first || (!first.usage && seen.usage)) deferred.set(key, { ...seen, seenOutputTokens: Math.max(seen.seenOutputTokens, first?.seenOutputTokens ?? 0) });
    else first.seenOutputTokens = Math.max(first.seenOutputTokens, seen.seenOutputTokens);
    const kept = deferred.get(key)!;
    // Kept in the row of what tracks the work, as that of work waited for always was: a stop or crash before the
    // bundle leaves it to the next start. Estimates of keys the work was handed over from are closed only by a usage.
    const saved: SeenFinalState = {
      seenOutputTokens: kept.seenOutputTokens,
      ...(kept.usage ? { usage: kept.usage } : {}), ...(kept.answeredModel !== undefined ? { answeredModel: kept.answeredModel } : {}),
    };
    if (this.background.find(seen.provider, seen.id)) this.background.noteFinalState(seen.provider, seen.id, saved);
    else if (this.trueUps.find(seen.provider, seen.id, nowMs)) this.trueUps.noteFinalState(seen.provider, seen.id, saved);
    else if (saved.usage) this.handedOver.noteFinalState(seen.provider, seen.id, saved, nowMs);
  }

  /**
   * The final state of `id` was seen (fetched back, or answering a request that continued it) with `seenOutputTokens`
   * of answer: the request waiting for it is charged, or the estimate charged before is trued up.
   */
  private settleFinalState(provider: string, id: string, usage: TokenUsage | undefined, answeredModel: string | undefined, seenOutputTokens: number): void {
    this.background.noteAnswer(provider, id, seenOutputTokens);
    const waiting = this.background.take(provider, id);
    if (waiting) return this.chargeWaiting(provider, id, waiting, usage, answeredModel);
    // Whether this charged the usage to the key the work is tracked under now (after a hand-over: the new key).
    const usageCharged = this.trueUpBackground(provider, id, usage, answeredModel, seenOutputTokens);
    if (usage) this.closeHandedOver(provider, id, usage, answeredModel, usageCharged);
  }

  /** Work waited for is charged (chargeBackground); with its usage known, the estimates of keys it was handed over from are closed. */
  private chargeWaiting(provider: string, id: string, waiting: BackgroundJob, usage: TokenUsage | undefined, answeredModel: string | undefined, givenUp = false): void {
    this.chargeBackground(provider, id, waiting, usage, answeredModel, givenUp);
    if (usage) this.closeHandedOver(provider, id, usage, answeredModel, true);
  }

  /**
   * Charges a background response's request what its final state reported, or Edge's estimate: with none reported,
   * the prompt and the answer seen; given up (`givenUp`), the prompt and the most answer the request allowed itself
   * (background-output-cap.ts), since its answer may have been read without Edge seeing it. An estimate stays open
   * for a true-up (background-true-ups.ts). Gives its hold back.
   */
  private chargeBackground(provider: string, id: string, waiting: BackgroundJob, usage: TokenUsage | undefined, answeredModel: string | undefined, givenUp = false): void {
    // Held until the charge commits: rolled back, the entry waits on with its prompt held.
    this.changes.afterCommit(() => waiting.hold?.release());
    const model = answeredModel ?? waiting.answeredModel;
    const worstCase = worstCaseOutputTokens(waiting);
    const charged = usage ?? usageEstimate(waiting.promptTokens, givenUp ? worstCase : waiting.outputTokens);
    const reason = givenUp ? 'given_up' : 'no_usage';
    const nowMs = this.options.now().getTime();
    const open = waiting.charged;
    if (open) {
      // Given up before and continued since: its estimate is the starting point, only the difference is charged.
      this.adjustTrueUp(id, open, charged, !usage, model, usage ? 'usage_reported' : reason);
      // `open` came off the true-ups with its final state and kept prompt taken off (continueTracked): nothing in it settles again.
      if (!usage) this.trueUps.keep(provider, id, { ...open, reason, worstCaseOutputTokens: worstCase, keptAtMs: nowMs });
      return;
    }
    // A sync since its decision may have moved its windows' counters (a budget counted by its place, another inserted
    // before it): charged where they went, as a true-up follows them.
    const bundle = this.options.bundle();
    const current = windowsFollowed(waiting.windows, bundle ? allKeyWindows(bundle, waiting.target.keyId) : []);
    // charge.alerts is empty still: its alerts are pushed once the change commits, by callbacks queued before
    // reportLateCharge's below (afterCommit runs them in order), so the record it makes carries them.
    const { charge, windows } = this.options.charges.chargeTo(waiting.target, current, charged, !usage, model, undefined, (err, context) => this.counterWriteFailed(err, context), this.publishWhenCommitted);
    if (!usage) {
      this.trueUps.keep(provider, id, {
        target: waiting.target, windows, usage: charge.usage, costUsd: charge.costUsd, reason,
        worstCaseOutputTokens: worstCase, keptAtMs: nowMs, ...(model !== undefined ? { answeredModel: model } : {}),
      });
    }
    this.reportLateCharge(waiting.target, id, charge);
  }

  /**
   * A final state of `id` fetched back after its request was charged an estimate: with its usage, the difference
   * is charged (or given back) and the record closed; without, an answer longer than the one charged, or the prompt of
   * a continuation it kept (TrueUp continuedPromptTokens), raises the estimate, which stays open. True when an estimate was trued up to the usage (it is charged now).
   */
  private trueUpBackground(provider: string, id: string, usage: TokenUsage | undefined, answeredModel: string | undefined, seenOutputTokens: number): boolean {
    const nowMs = this.options.now().getTime();
    if (usage) {
      const open = this.takeEstimate(provider, id, nowMs);
      if (!open) return false;
      // The usage covers the prompt of any continuation it kept.
      this.takeContinuedPrompt(open);
      this.adjustTrueUp(id, open, usage, false, answeredModel, 'usage_reported');
      return true;
    }
    const open = this.trueUps.find(provider, id, nowMs);
    if (!open) return false;
    // A final state kept in its row before the first bundle (deferFinalState) is settled now: not settled again.
    const savedFinalState = this.takeOff(open, 'finalState');
    // A continuation's prompt no estimate charged yet: the run ended reporting no usage, so charged now.
    const continuedPromptTokens = this.takeContinuedPrompt(open);
    const raised = seenOutputTokens > open.usage.outputTokens || continuedPromptTokens > 0;
    if (raised) {
      const cause = continuedPromptTokens > 0 ? 'no_usage' : 'more_answer_seen';
      const promptTokens = open.usage.inputTokens + continuedPromptTokens;
      this.adjustTrueUp(id, open, usageEstimate(promptTokens, Math.max(seenOutputTokens, open.usage.outputTokens)), true, answeredModel, cause);
    }
    if (raised || savedFinalState) this.trueUps.changed(provider, id);
    return false;
  }

  /** Crowded out by its own key's newer records before its usage was seen: charged up to its worst case, and any continuation's prompt kept with it. */
  private raiseToWorstCase(id: string, open: TrueUp): void {
    if (open.usage.outputTokens >= open.worstCaseOutputTokens && !open.continuedPromptTokens) return;
    const promptTokens = open.usage.inputTokens + this.takeContinuedPrompt(open);
    this.adjustTrueUp(id, open, usageEstimate(promptTokens, Math.max(open.usage.outputTokens, open.worstCaseOutputTokens)), true, undefined, 'crowded_out');
  }

  /**
   * Dropped from the ledger as it stands (past its age, or the bound on all keys): what it kept to be charged is charged.
   * A record that cannot be (a malformed row an earlier run left) is told and goes all the same: thrown, the change
   * dropping it was rolled back and the record put back, to throw again in every later change (each keep, each find).
   * A write that fails still fails the change whole.
   */
  private closeAsItStands(id: string, open: TrueUp, cause: 'crowded_out' | 'expired'): void {
    try {
      this.chargeContinuedPrompt(id, open, cause);
    } catch (err) {
      if (err instanceof BackgroundWriteFailed) throw err;
      this.options.onError(err, `closing the estimate of ${id}`);
    }
  }

  /**
   * Closed as it stands, or handed over to a key whose run may never report usage (`cause`): the prompt of continuations
   * `open` kept (TrueUp continuedPromptTokens) is added to its estimate, as a run ending with no usage adds it.
   */
  private chargeContinuedPrompt(id: string, open: TrueUp, cause: TrueUpNote['cause']): void {
    const continuedPromptTokens = this.takeContinuedPrompt(open);
    if (continuedPromptTokens <= 0) return;
    this.adjustTrueUp(id, open, usageEstimate(open.usage.inputTokens + continuedPromptTokens, open.usage.outputTokens), true, undefined, cause);
  }

  /**
   * The open estimate of `id`, taken out of BackgroundTrueUps: a final state saved with it (TrueUp finalState) comes
   * off, settled by whoever takes it, so no copy of the record and no other collection settles it again.
   */
  private takeEstimate(provider: string, id: string, nowMs: number): TrueUp | undefined {
    const open = this.trueUps.take(provider, id, nowMs);
    if (open) this.takeOff(open, 'finalState');
    return open;
  }

  /** The prompt of continuations `open` kept (TrueUp continuedPromptTokens), charged from now on by the caller: taken off it. */
  private takeContinuedPrompt(open: TrueUp): number {
    return this.takeOff(open, 'continuedPromptTokens') ?? 0;
  }

  /** What `open` kept to be settled later (`field`), settled by the running change: taken off it, back if that is rolled back. */
  private takeOff<K extends 'continuedPromptTokens' | 'finalState'>(open: TrueUp, field: K): TrueUp[K] {
    const value = open[field];
    if (value === undefined) return value;
    delete open[field];
    this.changes.undo(() => { open[field] = value; });
    return value;
  }

  /**
   * Brings each window `open` charged to what `usage` costs: the rest is charged, an excess given back into the run
   * of the window it went to while that runs (counter-store.ts refund). `open` then says what it now charged.
   */
  private adjustTrueUp(id: string, open: TrueUp, usage: TokenUsage, estimated: boolean, answeredModel: string | undefined, cause: TrueUpNote['cause']): void {
    const { counters, charges } = this.options;
    const nowMs = this.options.now().getTime();
    const model = answeredModel ?? open.answeredModel;
    // Rolled back, the record says again what it charged before (its windows' amounts are changed in place).
    const saved = { windows: open.windows.map((w) => ({ ...w })), usage: open.usage, costUsd: open.costUsd, answeredModel: open.answeredModel };
    this.changes.undo(() => {
      open.windows = saved.windows;
      open.usage = saved.usage;
      open.costUsd = saved.costUsd;
      if (saved.answeredModel === undefined) delete open.answeredModel;
      else open.answeredModel = saved.answeredModel;
    });
    const price = priceOf(open.target, usage, model);
    let refundedInFull = true;
    const alerts: Notice[] = [];
    const { windows, gone } = this.followChargedWindows(open);
    open.windows = windows;
    for (const [window, current] of windows.map((w) => [w, this.currentWindow(w)] as const)) {
      if (!current) continue;
      const cost = window.metric === 'tokens' ? usage.totalTokens : price.costUsd;
      const difference = cost - window.amount;
      try {
        if (difference > 0) {
          const added = counters.add(window.counterKey, difference, window.timing, nowMs);
          // An amount that went to an earlier run of the window can no longer be given back: only this run's counts.
          window.amount = added.windowStartMs === window.windowStartMs ? cost : difference;
          window.windowStartMs = added.windowStartMs;
          // Spend raised as any charge raises it: past a threshold, the budget alert (into `alerts` once the change
          // commits, before the record reportLateCharge queues below reads it: afterCommit runs in order).
          if (window.metric === 'spend') charges.budgetAlert(current, added.windowStartMs, nowMs, open.target, alerts, this.publishWhenCommitted);
        } else if (difference < 0) {
          const given = window.windowStartMs === undefined ? 0 : counters.refund(window.counterKey, -difference, window.windowStartMs, window.timing, nowMs);
          if (given < -difference) refundedInFull = false;
          window.amount -= given;
        }
      } catch (err) {
        this.counterWriteFailed(err, `truing up ${window.counterKey}`);
      }
    }
    const before = { usage: open.usage, costUsd: open.costUsd };
    open.usage = usage;
    open.costUsd = price.costUsd;
    if (model !== undefined) open.answeredModel = model;
    const charge: UsageCharge = { usage, costUsd: price.costUsd, priceSource: price.priceSource, alerts, ...(estimated ? { estimated: true as const } : {}) };
    const difference = { totalTokens: usage.totalTokens - before.usage.totalTokens, costUsd: price.costUsd - before.costUsd };
    this.reportLateCharge(open.target, id, charge, { before, difference, refundedInFull, cause, windowsGone: gone });
  }

  /**
   * The windows `open` charged, as the policy applied now has them (window-successors.ts): moved to the key a sync
   * carried its counter to, one for each of several that continued it; one with no successor is kept as it was (a
   * later bundle may bring it back) and named in `gone`.
   */
  private followChargedWindows(open: TrueUp): { windows: TrueUpWindow[]; gone: string[] } {
    const bundle = this.options.bundle();
    const current = bundle ? allKeyWindows(bundle, open.target.keyId) : [];
    const gone: string[] = [];
    const windows = open.windows.flatMap((window) => {
      const successors = successorWindows(window.identity, current);
      if (successors.length === 0) gone.push(window.counterKey);
      if (successors.length === 0 || (successors.length === 1 && successors[0]!.counterKey === window.counterKey)) return [window];
      return successors.map((s): TrueUpWindow => ({ ...window, counterKey: s.counterKey, identity: windowIdentity(s), timing: timingOf(s) }));
    });
    return { windows, gone };
  }

  /** The window of the policy applied now counted under `window`'s key, if it is still that window. */
  private currentWindow(window: TrueUpWindow): LimitWindow | undefined {
    const bundle = this.options.bundle();
    if (!bundle) return undefined;
    return successorWindows(window.identity, allKeyWindows(bundle, window.identity.keyId)).find((w) => w.counterKey === window.counterKey);
  }

  private reportLateCharge(target: LateChargeTarget, id: string, charge: UsageCharge, trueUp?: TrueUpNote): void {
    const charged: BackgroundCharge = { request: target.request, target: target.target, app: target.app, id, charge, ...(trueUp ? { trueUp } : {}) };
    // Recorded once its change commits: one rolled back charged nothing.
    this.changes.afterCommit(() => {
      // Charged already: a listener that fails (an audit trail that cannot be written) must not undo the bookkeeping.
      try {
        this.options.onBackgroundCharge?.(charged);
      } catch (err) {
        this.options.onError(err, `recording the late charge of ${id}`);
      }
    });
  }
}

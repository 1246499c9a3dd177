import { budgetAlertMessage, thresholdsReached } from './budget-alerts.js';
import type { TrueUpWindow } from './background-true-ups.js';
import type { CounterStore } from './counter-store.js';
import { priceOf, type ChargedWindow, type LateChargeTarget } from './late-charge.js';
import { windowUsage, type LimitWindow } from './limits.js';
import type { Notice, NoticeDraft } from './notices.js';
import type { TokenUsage } from './usage.js';
import { windowIdentity } from './window-succession.js';

/**
 * Charging usage to a key's token and spend windows, with the budget alert a charge past a threshold raises: one
 * place for an exchange's charge (enforcer.ts) and a late one (background-charging.ts), so both count and warn alike.
 */

export interface UsageCharge {
  usage: TokenUsage;
  costUsd: number;
  priceSource: string;
  /** Notices raised by the charge (budget alerts). */
  alerts: Notice[];
  /** The provider reported no usage: this is Edge's estimate (the prompt, and the answer seen or, given up, allowed). */
  estimated?: true;
}

export interface WindowChargesOptions {
  counters: CounterStore;
  now: () => Date;
  onError: (err: unknown, context: string) => void;
  /** Publishes a budget alert (the enforcer adds who is signed in). */
  publish: (draft: NoticeDraft) => Notice;
}

/**
 * When a budget alert raised by a charge is published: at once by default; a charge made inside a change of the
 * background ledger puts it off until the change commits (background-change.ts afterCommit), since one rolled back
 * charged nothing, and its alert's mark is rolled back with it (the retry raises the alert again).
 */
export type PublishWhen = (publish: () => void) => void;

const publishNow: PublishWhen = (publish) => publish();

export class WindowCharges {
  constructor(private readonly options: WindowChargesOptions) {}

  /**
   * Charges `usage` to the token and spend `windows`; raises budget alerts. Says what each window was charged. A counter
   * write that fails is told to `onWriteError` (default: onError, and the other windows are charged on); one that
   * throws from it ends the charge there (background-charging.ts: inside a transaction the change is rolled back whole).
   * Its alerts are published, and added to the charge's, when `publishWhen` says (see PublishWhen).
   */
  chargeTo(
    target: LateChargeTarget, windows: readonly LimitWindow[], usage: TokenUsage, estimated: boolean, answeredModel?: string,
    priced?: { costUsd: number; priceSource: string }, onWriteError: (err: unknown, context: string) => void = this.options.onError,
    publishWhen: PublishWhen = publishNow,
  ): { charge: UsageCharge; windows: TrueUpWindow[] } {
    const nowMs = this.options.now().getTime();
    const { costUsd, priceSource } = priced ?? priceOf(target, usage, answeredModel);
    const alerts: Notice[] = [];
    const charged: TrueUpWindow[] = [];
    for (const window of windows) {
      if (window.metric === 'requests') continue;
      const amount = window.metric === 'tokens' ? usage.totalTokens : costUsd;
      const record: TrueUpWindow = { counterKey: window.counterKey, metric: window.metric, timing: timingOf(window), amount: 0, identity: windowIdentity(window) };
      charged.push(record);
      if (amount <= 0) continue;
      try {
        const added = this.options.counters.add(window.counterKey, amount, window, nowMs);
        record.amount = amount;
        record.windowStartMs = added.windowStartMs;
        if (window.metric === 'spend') this.budgetAlert(window, added.windowStartMs, nowMs, target, alerts, publishWhen);
      } catch (err) {
        onWriteError(err, `charging ${window.counterKey}`);
      }
    }
    // `alerts` is the charge's own array, filled as each alert is published: with `publishWhen` putting that off (a
    // background charge), it is still empty here. A caller recording the charge after commit (background-charging.ts
    // reportLateCharge) finds them only because its own afterCommit is queued after the alerts', and those run in order.
    return { charge: { usage, costUsd, priceSource, alerts, ...(estimated ? { estimated: true as const } : {}) }, windows: charged };
  }

  /**
   * The alert a spend window's charge raises, once per threshold and run of the window (marked now, in the charge's
   * transaction), added to `alerts` once published (`publishWhen`); none when no threshold is newly reached.
   */
  budgetAlert(window: LimitWindow, windowStartMs: number, nowMs: number, target: LateChargeTarget, alerts: Notice[], publishWhen: PublishWhen = publishNow): void {
    if (window.max <= 0) return;
    const counters = this.options.counters;
    const usage = windowUsage(window, counters.snapshot([window.counterKey]), nowMs);
    const reached = thresholdsReached(usage.used / window.max, target.thresholds);
    // Mark every reached threshold, warn once, at the highest newly reached one.
    const fresh = reached.filter((t) => counters.markAlert(window.counterKey, windowStartMs, t, nowMs));
    const highest = fresh[0];
    if (highest === undefined) return;
    const draft: NoticeDraft = {
      kind: 'budget_alert',
      who: { app: target.app },
      what: {
        ...(target.provider ? { provider: target.provider } : {}),
        ...(target.model ? { model: target.model } : {}),
      },
      why: {
        message: budgetAlertMessage(target.keyLabel, window, usage.used, highest, usage.resetsAtMs !== undefined ? usage.resetsAtMs - nowMs : undefined),
        errorType: `budget_${Math.round(highest * 100)}`,
      },
    };
    publishWhen(() => alerts.push(this.options.publish(draft)));
  }
}

/** A window's duration or calendar period, as a counter is kept by it. */
export function timingOf(window: LimitWindow): ChargedWindow['timing'] {
  return window.calendar ? { durationMs: window.durationMs, calendar: window.calendar } : window.durationMs;
}

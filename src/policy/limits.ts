import type { Budget, ProviderConfig, RateLimit, VirtualKey } from '../control/protocol/virtual-key.js';
import { describeDuration, tryParseResetDuration } from './durations.js';
import { reconcileReport, type ReportedUsage } from './gateway-report.js';
import { previousBudgetRefs, previousScope, type FormerCounterKeys } from './former-counter-keys.js';
import { configsFor } from './model-access.js';
import { calendarPeriodOf, windowEndMs, type CalendarPeriod } from './window-period.js';

/**
 * A key's rate limits and budgets as windows the device counts locally, and the pure checks over them.
 *
 * Semantics follow Bifrost's governance store: a window starts at its last reset and lasts one reset
 * duration, or, for a calendar-aligned budget, runs to the next UTC calendar boundary (window-period.ts);
 * the gateway's report of a window wins over the device's count as gateway-report.ts says; a limit is reached when the usage already counted is at or above the maximum (so the request
 * that crosses it still goes through, the next one is refused). Provider-config limits are checked before
 * the key's own; a single token violation is `token_limited`, a single request violation
 * `request_limited`, both at one level `rate_limited`; a spent budget is `budget_exceeded`.
 */

export type Metric = 'requests' | 'tokens' | 'spend';

export interface LimitWindow {
  /**
   * Counter key: which key, which provider config (if any), what is counted, over which duration, and for
   * a budget which one, so every window is charged once and keeps its counter across policy syncs.
   */
  counterKey: string;
  /** Where earlier versions counted this window; its share becomes its own row when a bundle is applied (formerCounterReads). */
  formerKeys: FormerCounterKeys;
  keyId: string;
  /** Undefined for a limit on the whole key; the provider config's provider otherwise. */
  provider?: string;
  /** Which of the provider's configs (by id or place), for a provider config's window. */
  configRef?: ConfigRef;
  metric: Metric;
  max: number;
  resetDuration: string;
  durationMs: number;
  /** Set when the window follows UTC calendar periods (a calendar-aligned budget) instead of rolling. */
  calendar?: CalendarPeriod;
  /** What the gateway reported when the bundle was issued, so other devices' use counts too. */
  reported?: ReportedUsage;
  budgetId?: string;
  /** Which of its owner's budgets (by id or place), for a budget. */
  budgetRef?: BudgetRef;
}

export interface CounterReading {
  value: number;
  windowStartMs: number;
  /**
   * Held by admitted requests not yet charged (in-flight.ts), counted as used whatever the window.
   * Only decisions see it; status and alerts show what was charged.
   */
  inFlight?: number;
}

/** Counter values read from the store at decision time, by counter key. */
export type CounterSnapshot = ReadonlyMap<string, CounterReading>;

export const EMPTY_COUNTERS: CounterSnapshot = new Map();

/**
 * Which provider config a window belongs to: the gateway's id for it (Bifrost gives every config one), or
 * without one its place among the provider's configs that have none, so adding a config with an id, or one
 * of another provider, does not move it.
 */
export type ConfigRef = { id: string } | { place: number };

/**
 * Which budget a counter is for among its owner's: by id, or without one by its place among the owner's
 * budgets of that duration that have none, so adding a budget with an id, or of another duration, does not
 * move it.
 */
export type BudgetRef = { id: string } | { place: number };

/** Whose window it is: the key's own (no config), or one of its provider configs'. */
export interface WindowOwner {
  keyId: string;
  config?: { provider: string; ref: ConfigRef };
}

export function ownerScope(owner: WindowOwner): string {
  const key = `vk:${owner.keyId}`;
  if (owner.config === undefined) return key;
  const { provider, ref } = owner.config;
  return `${key}/provider:${provider}/config${'id' in ref ? `:${ref.id}` : `@${ref.place}`}`;
}

/**
 * Counter key: the owner (key, and provider config), what is counted, over which duration, and for a
 * budget which one. Never equal to a key of earlier versions for another window (former-counter-keys.ts),
 * so a row those left is never mistaken for one of this version.
 */
export function counterKey(keyId: string, config: WindowOwner['config'], metric: Metric, resetDuration: string, budget?: BudgetRef): string {
  const window = `${ownerScope({ keyId, ...(config !== undefined ? { config } : {}) })}|${metric}|${resetDuration}`;
  if (budget === undefined) return window;
  return 'id' in budget ? `${window}|budget:${budget.id}` : `${window}|budget@${budget.place}`;
}

export interface KeyLimits {
  windows: LimitWindow[];
  /** Limits the device cannot count (an unreadable reset duration); the gateway still enforces them. */
  problems: string[];
}

/**
 * Every window that governs requests of `key` to `provider` (provider undefined: the key's own windows
 * only). `issuedAtMs` stands in for a reported usage's last reset when the gateway gave none.
 *
 * A budget is calendar-aligned when it says so or its key does (Bifrost applies the key's
 * `calendar_aligned` to all its budgets, the provider configs' too). Rate limits roll: the gateway's
 * RateLimit has no such field (shared/reference/bifrost-openapi-subset.json).
 */
export function limitWindows(key: VirtualKey, provider: string | undefined, issuedAtMs: number): KeyLimits {
  const out: KeyLimits = { windows: [], problems: [] };
  const keyAligned = key.calendar_aligned === true;
  const add = (owner: WindowOwner, rateLimit: RateLimit | null | undefined, budgets: Budget[] | null | undefined) => {
    const at: WindowPlace = { owner, previousScope: previousScope(owner.keyId, owner.config?.provider) };
    if (rateLimit) {
      addWindow(out, at, 'requests', rateLimit.request_max_limit, rateLimit.request_reset_duration, rateLimit.request_current_usage, rateLimit.request_last_reset, issuedAtMs);
      addWindow(out, at, 'tokens', rateLimit.token_max_limit, rateLimit.token_reset_duration, rateLimit.token_current_usage, rateLimit.token_last_reset, issuedAtMs);
    }
    const list = budgets ?? [];
    const previousRefs = previousBudgetRefs(list.map((b) => ({ id: budgetIdOf(b), resetDuration: b.reset_duration })));
    const placesWithoutId = new Map<string, number>();
    list.forEach((budget, index) => {
      const id = budgetIdOf(budget);
      let ref: BudgetRef;
      if (id !== undefined) ref = { id };
      else {
        const place = (placesWithoutId.get(budget.reset_duration) ?? 0) + 1;
        placesWithoutId.set(budget.reset_duration, place);
        ref = { place };
      }
      const calendarAligned = keyAligned || budget.calendar_aligned === true;
      addWindow(out, at, 'spend', budget.max_limit, budget.reset_duration, budget.current_usage, budget.last_reset, issuedAtMs,
        { ...(id !== undefined ? { id } : {}), ref, previousRef: previousRefs[index] ?? '', calendarAligned });
    });
  };
  if (provider !== undefined) {
    const placesWithoutId = { next: 1 };
    for (const pc of configsFor(key, provider)) {
      const id = configIdOf(pc);
      const ref: ConfigRef = id !== undefined ? { id } : { place: placesWithoutId.next++ };
      add({ keyId: key.id, config: { provider, ref } }, pc.rate_limit, pc.budgets);
    }
  }
  add({ keyId: key.id }, key.rate_limit, key.budgets);
  return out;
}

const budgetIdOf = (budget: Budget) => (budget.id !== undefined && budget.id !== '' ? budget.id : undefined);

/** The gateway's id of a provider config: Bifrost's is a number; the schema leaves it out, the loose object keeps it. */
function configIdOf(config: ProviderConfig): string | undefined {
  const id = config['id'];
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return typeof id === 'string' && id !== '' ? id : undefined;
}

interface WindowPlace {
  owner: WindowOwner;
  previousScope: string;
}

interface BudgetIdentity {
  id?: string;
  /** What tells the budget's counter from its owner's other budgets (counterKey). */
  ref: BudgetRef;
  /** The budget part of its key in the previous version (previousBudgetRefs). */
  previousRef: string;
  calendarAligned: boolean;
}

function addWindow(
  out: KeyLimits, at: WindowPlace, metric: Metric,
  max: number | null | undefined, resetDuration: string | null | undefined,
  reportedUsed: number | undefined, reportedReset: string | undefined, issuedAtMs: number, budget?: BudgetIdentity,
): void {
  if (max === null || max === undefined) return;
  const provider = at.owner.config?.provider;
  const where = provider === undefined ? 'the key' : `provider ${provider}`;
  if (!resetDuration) {
    out.problems.push(`A ${metric} limit on ${where} has no reset duration; the gateway enforces it, this device does not.`);
    return;
  }
  const durationMs = tryParseResetDuration(resetDuration);
  if (durationMs === undefined) {
    out.problems.push(`A ${metric} limit on ${where} has an unreadable reset duration "${resetDuration}"; the gateway enforces it, this device does not.`);
    return;
  }
  const original = `${at.previousScope}|${metric}|${resetDuration}`;
  const window: LimitWindow = {
    counterKey: counterKey(at.owner.keyId, at.owner.config, metric, resetDuration, budget?.ref),
    formerKeys: { previous: `${original}${budget?.previousRef ?? ''}`, original },
    keyId: at.owner.keyId, metric, max, resetDuration, durationMs,
  };
  if (provider !== undefined) window.provider = provider;
  if (at.owner.config !== undefined) window.configRef = at.owner.config.ref;
  if (budget?.id !== undefined) window.budgetId = budget.id;
  if (budget !== undefined) window.budgetRef = budget.ref;
  // A duration without calendar periods (`1h`) stays rolling: Bifrost refuses to align those.
  const calendar = budget?.calendarAligned ? calendarPeriodOf(resetDuration) : undefined;
  if (calendar) window.calendar = calendar;
  // The last reset matters even when nothing is used yet: it says where the gateway's window starts.
  const parsedReset = reportedReset ? Date.parse(reportedReset) : Number.NaN;
  if (reportedUsed !== undefined && !Number.isNaN(parsedReset)) {
    window.reported = { used: reportedUsed, windowStartMs: parsedReset };
  } else if (reportedUsed !== undefined && reportedUsed > 0) {
    window.reported = { used: reportedUsed, windowStartMs: issuedAtMs, estimatedStart: true };
  }
  out.windows.push(window);
}

export interface WindowUsage {
  /** Charged, plus what requests in flight hold. */
  used: number;
  /** Of `used`, what requests still being answered hold (their estimated cost). */
  inFlight?: number;
  /** When the current window ends, if the device knows when it started. */
  resetsAtMs?: number;
}

/**
 * Usage in the current window, from the device's count and the gateway's report, each only while its
 * window is still running (gateway-report.ts: a later gateway window wins, else the larger of the two;
 * the larger, not the sum, since the gateway's figure already includes what this device sent before).
 */
export function windowUsage(window: LimitWindow, counters: CounterSnapshot, nowMs: number): WindowUsage {
  const local = counters.get(window.counterKey);
  const reading = reconcileReport(local, window.reported, window, nowMs);
  const used = reading?.value ?? 0;
  const resetsAtMs = reading ? windowEndMs(window, reading.windowStartMs) : undefined;
  // Added on top: neither the device's count nor the gateway's has charged them yet.
  const inFlight = local?.inFlight ?? 0;
  return {
    used: used + inFlight,
    ...(inFlight > 0 ? { inFlight } : {}),
    ...(resetsAtMs !== undefined ? { resetsAtMs } : {}),
  };
}

export interface LimitViolation {
  type: 'rate_limited' | 'token_limited' | 'request_limited' | 'budget_exceeded';
  windows: Array<{ window: LimitWindow; usage: WindowUsage }>;
}

/** Rate limits, provider config first, then the key: the first level with a violation decides. */
export function checkRateLimits(windows: readonly LimitWindow[], counters: CounterSnapshot, nowMs: number): LimitViolation | undefined {
  for (const level of levels(windows)) {
    const hit = level
      .filter((w) => w.metric !== 'spend')
      .map((window) => ({ window, usage: windowUsage(window, counters, nowMs) }))
      .filter(({ window, usage }) => usage.used >= window.max);
    if (hit.length === 0) continue;
    const metrics = new Set(hit.map((h) => h.window.metric));
    const type = metrics.size > 1 ? 'rate_limited' : metrics.has('tokens') ? 'token_limited' : 'request_limited';
    return { type, windows: hit };
  }
  return undefined;
}

/** Budgets, provider config first, then the key. */
export function checkBudgets(windows: readonly LimitWindow[], counters: CounterSnapshot, nowMs: number): LimitViolation | undefined {
  for (const level of levels(windows)) {
    const hit = level
      .filter((w) => w.metric === 'spend')
      .map((window) => ({ window, usage: windowUsage(window, counters, nowMs) }))
      .filter(({ window, usage }) => usage.used >= window.max);
    if (hit.length > 0) return { type: 'budget_exceeded', windows: hit };
  }
  return undefined;
}

/** True when a provider config's own windows are spent (load balancing skips such configs). */
export function providerConfigSpent(windows: readonly LimitWindow[], provider: string, counters: CounterSnapshot, nowMs: number): boolean {
  const own = windows.filter((w) => w.provider === provider);
  return checkRateLimits(own, counters, nowMs) !== undefined || checkBudgets(own, counters, nowMs) !== undefined;
}

function levels(windows: readonly LimitWindow[]): LimitWindow[][] {
  return [windows.filter((w) => w.provider !== undefined), windows.filter((w) => w.provider === undefined)];
}

/** "100 requests per hour", "50,000 tokens per day", "a $50.00 daily budget" (for messages). */
export function describeLimit(window: LimitWindow): string {
  const per = describeDuration(window.resetDuration);
  if (window.metric === 'spend') return `${formatUsd(window.max)} budget per ${per}`;
  return `${window.max.toLocaleString('en-US')} ${window.metric} per ${per}`;
}

export function describeUsed(window: LimitWindow, used: number): string {
  return `${describeAmount(window, used)} ${window.metric === 'spend' ? 'spent' : 'used'}`;
}

/** "$0.42" for a budget, "1,234" for a count. */
export function describeAmount(window: LimitWindow, amount: number): string {
  return window.metric === 'spend' ? formatUsd(amount) : Math.round(amount).toLocaleString('en-US');
}

export function formatUsd(amount: number): string {
  if (amount !== 0 && Math.abs(amount) < 0.01) return `$${amount.toFixed(4)}`;
  return `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

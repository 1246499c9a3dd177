import type { Budget, RateLimit, VirtualKey } from '../control/protocol/virtual-key.js';
import { describeDuration, tryParseResetDuration } from './durations.js';
import { reconcileReport, type ReportedUsage } from './gateway-report.js';
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
   * a budget which one (its id), so two budgets of one duration are each charged once.
   */
  counterKey: string;
  keyId: string;
  /** Undefined for a limit on the whole key; the provider config's provider otherwise. */
  provider?: string;
  metric: Metric;
  max: number;
  resetDuration: string;
  durationMs: number;
  /** Set when the window follows UTC calendar periods (a calendar-aligned budget) instead of rolling. */
  calendar?: CalendarPeriod;
  /** What the gateway reported when the bundle was issued, so other devices' use counts too. */
  reported?: ReportedUsage;
  budgetId?: string;
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

export function scopeOf(keyId: string, provider?: string): string {
  return provider === undefined ? `vk:${keyId}` : `vk:${keyId}/provider:${provider}`;
}

/** Which budget a counter is for, among those of one duration: by id, or by place in the list without one. */
export type BudgetRef = { id: string } | { place: number };

const BUDGET_BY_ID = '|budget:';
const BUDGET_BY_PLACE = '|budget#';

export function counterKey(keyId: string, provider: string | undefined, metric: Metric, resetDuration: string, budget?: BudgetRef): string {
  const shared = `${scopeOf(keyId, provider)}|${metric}|${resetDuration}`;
  if (budget === undefined) return shared;
  return 'id' in budget ? `${shared}${BUDGET_BY_ID}${budget.id}` : `${shared}${BUDGET_BY_PLACE}${budget.place}`;
}

/**
 * For a budget's own counter key (by id or by place), the key every budget of that duration shared before
 * budgets had their own: counters persisted under it by earlier versions still count until the budget has
 * its own, divided among the budgets that shared it (legacyBudgetShares).
 */
export function sharedCounterKeyOf(key: string): string | undefined {
  const at = [key.indexOf(BUDGET_BY_ID), key.indexOf(BUDGET_BY_PLACE)].filter((i) => i !== -1);
  return at.length === 0 ? undefined : key.slice(0, Math.min(...at));
}

/**
 * The counter keys of earlier versions that budgets among the given windows (all of a bundle's) read until
 * they have their own rows, with how many budgets shared each. Those versions charged every spend once per
 * budget under the key of its duration, so a row they left holds that many times the real spend. A key
 * that is still a budget's own counter (one without an id keeps it) is left out: its row is that budget's
 * and now grows once per spend, so it no longer says what the others spent.
 */
export function legacyBudgetShares(windows: Iterable<LimitWindow>): Map<string, number> {
  const shares = new Map<string, number>();
  const ownKeys = new Set<string>();
  for (const window of windows) {
    if (window.metric !== 'spend') continue;
    ownKeys.add(window.counterKey);
    const shared = sharedCounterKeyOf(window.counterKey) ?? window.counterKey;
    shares.set(shared, (shares.get(shared) ?? 0) + 1);
  }
  for (const key of ownKeys) shares.delete(key);
  return shares;
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
  const add = (owner: string | undefined, rateLimit: RateLimit | null | undefined, budgets: Budget[] | null | undefined) => {
    if (rateLimit) {
      addWindow(out, key.id, owner, 'requests', rateLimit.request_max_limit, rateLimit.request_reset_duration, rateLimit.request_current_usage, rateLimit.request_last_reset, issuedAtMs);
      addWindow(out, key.id, owner, 'tokens', rateLimit.token_max_limit, rateLimit.token_reset_duration, rateLimit.token_current_usage, rateLimit.token_last_reset, issuedAtMs);
    }
    // Each budget has its own counter, by id. One without an id keeps the shared key of its duration, the
    // key of earlier versions, unless another budget of that duration has an id (whose counter reads the
    // shared key's as it was before this version) or took it first; then it is counted by its place.
    const idOf = (budget: Budget) => (budget.id !== undefined && budget.id !== '' ? budget.id : undefined);
    const durationsWithId = new Set((budgets ?? []).filter((b) => idOf(b) !== undefined).map((b) => b.reset_duration));
    const sharedTaken = new Set<string>();
    (budgets ?? []).forEach((budget, index) => {
      const id = idOf(budget);
      let counterRef: BudgetRef | undefined;
      if (id !== undefined) counterRef = { id };
      else if (durationsWithId.has(budget.reset_duration) || sharedTaken.has(budget.reset_duration)) counterRef = { place: index + 1 };
      else sharedTaken.add(budget.reset_duration);
      const calendarAligned = keyAligned || budget.calendar_aligned === true;
      addWindow(out, key.id, owner, 'spend', budget.max_limit, budget.reset_duration, budget.current_usage, budget.last_reset, issuedAtMs,
        { ...(id !== undefined ? { id } : {}), ...(counterRef !== undefined ? { counterRef } : {}), calendarAligned });
    });
  };
  if (provider !== undefined) {
    for (const pc of configsFor(key, provider)) add(provider, pc.rate_limit, pc.budgets);
  }
  add(undefined, key.rate_limit, key.budgets);
  return out;
}

interface BudgetIdentity {
  id?: string;
  /** What tells the budget's counter from other budgets' of the same duration (counterKey). */
  counterRef?: BudgetRef;
  calendarAligned: boolean;
}

function addWindow(
  out: KeyLimits, keyId: string, provider: string | undefined, metric: Metric,
  max: number | null | undefined, resetDuration: string | null | undefined,
  reportedUsed: number | undefined, reportedReset: string | undefined, issuedAtMs: number, budget?: BudgetIdentity,
): void {
  if (max === null || max === undefined) return;
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
  const window: LimitWindow = { counterKey: counterKey(keyId, provider, metric, resetDuration, budget?.counterRef), keyId, metric, max, resetDuration, durationMs };
  if (provider !== undefined) window.provider = provider;
  if (budget?.id !== undefined) window.budgetId = budget.id;
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

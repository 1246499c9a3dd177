import { formatSpan } from './durations.js';
import { describeLimit, formatUsd, type LimitWindow } from './limits.js';

/**
 * Budget alerts: the user is warned when a budget's use reaches one of the policy's thresholds
 * (`budget_alert_thresholds`, fractions such as 0.8 and 0.95). Pure: which thresholds a use level has
 * reached, and the sentence to show. Firing each threshold once per window is the counter store's job
 * (it remembers which fired), so a jump from 50% to 97% marks both 80% and 95% but warns once, at 95%.
 */

/** Thresholds reached at this fraction of the budget, highest first. */
export function thresholdsReached(fraction: number, thresholds: readonly number[]): number[] {
  return [...new Set(thresholds)].filter((t) => fraction >= t).sort((a, b) => b - a);
}

export function budgetAlertMessage(keyLabel: string, window: LimitWindow, used: number, threshold: number, resetsInMs: number | undefined): string {
  const where = window.provider !== undefined ? ` on ${window.provider}` : '';
  // The epsilon keeps 0.9 of a budget from reading as 89% after floating-point division.
  const percent = Math.floor((used / window.max) * 100 + 1e-9);
  const resets = resetsInMs !== undefined ? ` It resets in ${formatSpan(resetsInMs)}.` : '';
  const crossed = percent >= 100 ? 'used all of' : `used ${percent}% of`;
  return `You have ${crossed} the ${describeLimit(window)}${where} on your key '${keyLabel}' (${formatUsd(used)} of ${formatUsd(window.max)}, estimated on this device; alert at ${Math.round(threshold * 100)}%).${resets} AI requests are refused once it is used up.`;
}

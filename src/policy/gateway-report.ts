import type { CounterReading } from './limits.js';
import { windowEndMs, type WindowTiming } from './window-period.js';

/**
 * How the gateway's reported usage of a window and the device's own count of it combine.
 *
 * Bifrost is the authority on its windows: a report carries the usage and the last reset of the window
 * the gateway is counting. The device's count started at its own first use (or at an earlier report),
 * so the two windows need not line up:
 * - the report's window started later than the device's: the gateway has reset since the device's
 *   window began, and the report is taken as it is, even when lower or 0 (taking the larger would keep
 *   refusing for up to a whole window what the gateway allows);
 * - it started at the same time or earlier: both count the same window, and the gateway's figure already
 *   includes what this device sent before the report, so the larger of the two counts, in the gateway's
 *   window (both then reset together);
 * - a report without a last reset (its start is a stand-in, the bundle's issue time) never resets the
 *   device's count: it only raises it.
 * A window that has run its course counts for nothing.
 */

export interface ReportedUsage {
  used: number;
  /** The gateway's last reset of the window; the bundle's issue time when it gave none (estimatedStart). */
  windowStartMs: number;
  /** Set when the gateway gave no last reset: the report then only raises the device's count. */
  estimatedStart?: true;
}

/**
 * The reading of the window running at `nowMs`, or undefined when neither side has one. Returns `local`
 * itself when the report changes nothing, so a caller can tell there is nothing to write.
 */
export function reconcileReport(
  local: CounterReading | undefined, reported: ReportedUsage | undefined, timing: WindowTiming, nowMs: number,
): CounterReading | undefined {
  const localCurrent = local !== undefined && nowMs < windowEndMs(timing, local.windowStartMs) ? local : undefined;
  if (!reported || nowMs >= windowEndMs(timing, reported.windowStartMs)) return localCurrent;
  const fromReport: CounterReading = { value: reported.used, windowStartMs: reported.windowStartMs };
  if (!localCurrent) return fromReport;
  if (reported.estimatedStart) {
    return reported.used > localCurrent.value ? { value: reported.used, windowStartMs: localCurrent.windowStartMs } : localCurrent;
  }
  if (reported.windowStartMs > localCurrent.windowStartMs) return fromReport;
  if (reported.windowStartMs === localCurrent.windowStartMs && localCurrent.value >= reported.used) return localCurrent;
  return { value: Math.max(localCurrent.value, reported.used), windowStartMs: reported.windowStartMs };
}

import type { AuditQueueStatus } from './errors.js';

/**
 * Per-row bytes counted on top of the record text: two hex hashes, the integers and b-tree overhead.
 * The cap is on this logical size; the SQLite file stays close to it (freed pages are reused, not
 * returned to the OS).
 */
export const ROW_OVERHEAD_BYTES = 192;

export interface CapacityLimits {
  maxRecords: number | null;
  maxBytes: number | null;
  /** Fraction of the cap filled with unsent records at which the tray is warned. */
  nearCapRatio: number;
}

/** When pruning, free down to this fraction of the cap so the next few commits do not prune again. */
const PRUNE_TO_RATIO = 0.9;
/** A warning clears only once the queue has drained this far below the threshold, so it does not flap. */
const HYSTERESIS = 0.05;

export interface Usage {
  rows: number;
  bytes: number;
}

export function rowBytes(recordJsonBytes: number): number {
  return recordJsonBytes + ROW_OVERHEAD_BYTES;
}

export function fillRatio(unsent: Usage, limits: CapacityLimits): number {
  const byRows = limits.maxRecords ? unsent.rows / limits.maxRecords : 0;
  const byBytes = limits.maxBytes ? unsent.bytes / limits.maxBytes : 0;
  return Math.max(byRows, byBytes);
}

/** True when adding `extra` unsent data would push unsent records past the cap: the append is refused. */
export function exceedsCap(unsent: Usage, extra: Usage, limits: CapacityLimits): boolean {
  if (limits.maxRecords !== null && unsent.rows + extra.rows > limits.maxRecords) return true;
  if (limits.maxBytes !== null && unsent.bytes + extra.bytes > limits.maxBytes) return true;
  return false;
}

/** How much sent data to prune so `stored` fits, or zeros when it already fits under the cap. */
export function pruneNeeded(stored: Usage, limits: CapacityLimits): Usage {
  const overRows = limits.maxRecords !== null && stored.rows > limits.maxRecords;
  const overBytes = limits.maxBytes !== null && stored.bytes > limits.maxBytes;
  if (!overRows && !overBytes) return { rows: 0, bytes: 0 };
  return {
    rows: limits.maxRecords !== null ? Math.max(0, stored.rows - Math.floor(limits.maxRecords * PRUNE_TO_RATIO)) : 0,
    bytes: limits.maxBytes !== null ? Math.max(0, stored.bytes - Math.floor(limits.maxBytes * PRUNE_TO_RATIO)) : 0,
  };
}

/**
 * The level the tray shows. Rising edges happen at the threshold, falling edges a little below it.
 * `refused` forces `full`: an append just did not fit, whatever the ratio says.
 */
export function nextLevel(previous: AuditQueueStatus['level'], ratio: number, limits: CapacityLimits, refused = false): AuditQueueStatus['level'] {
  if (refused || ratio >= 1) return 'full';
  const near = limits.nearCapRatio;
  if (previous === 'full') {
    if (ratio >= 1 - HYSTERESIS) return 'full';
    return ratio >= near - HYSTERESIS ? 'near_cap' : 'ok';
  }
  if (ratio >= near) return 'near_cap';
  if (previous === 'near_cap' && ratio >= near - HYSTERESIS) return 'near_cap';
  return 'ok';
}

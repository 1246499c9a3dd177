/**
 * How many new audit chains of one device the server compares with its other chains. A device starts one
 * when its audit database was replaced or reverted: a few times in the life of most devices, but on every
 * revert of a pooled or non-persistent VM. Each comparison costs the server reads and an event, so beyond
 * these limits a new chain is still stored (audit records are never refused for rate reasons) but not
 * compared, and counted in one coalesced event instead of one each. Pure: the caller reads the times.
 */

export interface NewChainLimit {
  windowMs: number;
  max: number;
  /** For the message: "per hour". */
  per: string;
}

export const NEW_CHAIN_LIMITS: readonly NewChainLimit[] = [
  { windowMs: 60 * 60_000, max: 10, per: 'per hour' },
  { windowMs: 24 * 60 * 60_000, max: 30, per: 'per day' },
];

/** How many of the device's latest new-chain times the check needs. */
export function newChainTimesNeeded(limits: readonly NewChainLimit[] = NEW_CHAIN_LIMITS): number {
  return Math.max(...limits.map((l) => l.max));
}

/** `comparedAgainInMs`: when the next new chain is compared again (the reached limit's oldest counted chain leaves its window). */
export type NewChainAllowance = { ok: true } | { ok: false; comparedAgainInMs: number; limit: NewChainLimit };

/** `recent`: when the device started its latest chains (ms), the newest first. */
export function newChainAllowance(recent: readonly number[], now: number, limits: readonly NewChainLimit[] = NEW_CHAIN_LIMITS): NewChainAllowance {
  let reached: { comparedAgainInMs: number; limit: NewChainLimit } | undefined;
  for (const limit of limits) {
    const counted = recent[limit.max - 1];
    if (counted === undefined) continue;
    // A time ahead of now was written before the clock was stepped back: taken as now, so the device is
    // limited for one window at most, not until the clock catches up.
    const oldestCounted = Math.min(counted, now);
    if (oldestCounted <= now - limit.windowMs) continue;
    const comparedAgainInMs = oldestCounted + limit.windowMs - now;
    if (!reached || comparedAgainInMs > reached.comparedAgainInMs) reached = { comparedAgainInMs, limit };
  }
  return reached ? { ok: false, ...reached } : { ok: true };
}

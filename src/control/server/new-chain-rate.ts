/**
 * How many new audit chains one device may start. A device starts one when its audit database was
 * replaced or reverted, which happens a few times in its life, not every minute; each new chain costs the
 * server a comparison with the device's other chains and an event, so a broken or hostile device starting
 * them in a loop is slowed down (429 with Retry-After) instead of filling the database. Its records stay
 * queued on the device, which retries after the wait. Pure: the caller reads the times.
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

export type NewChainAllowance = { ok: true } | { ok: false; retryAfterMs: number; limit: NewChainLimit };

/** `recent`: when the device started its latest chains (ms), the newest first. */
export function newChainAllowance(recent: readonly number[], now: number, limits: readonly NewChainLimit[] = NEW_CHAIN_LIMITS): NewChainAllowance {
  let refused: { retryAfterMs: number; limit: NewChainLimit } | undefined;
  for (const limit of limits) {
    const oldestCounted = recent[limit.max - 1];
    if (oldestCounted === undefined || oldestCounted <= now - limit.windowMs) continue;
    // Allowed again once the oldest of the `max` latest chains leaves the window.
    const retryAfterMs = oldestCounted + limit.windowMs - now;
    if (!refused || retryAfterMs > refused.retryAfterMs) refused = { retryAfterMs, limit };
  }
  return refused ? { ok: false, ...refused } : { ok: true };
}

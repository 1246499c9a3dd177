/**
 * When to renew tokens. Pure, so the rule is tested as a table and the session only does timers.
 *
 * Rule: renew when 80% of the lifetime has passed or 60 s before expiry, whichever is earlier, but
 * never before half the lifetime (so a 3-second test token is renewed at 1.5 s, not in a tight loop).
 * A one-hour token is renewed after 48 minutes: well ahead of expiry, and with room for retries.
 */
export const REFRESH_AT_FRACTION = 0.8;
export const REFRESH_LEAD_MS = 60_000;

/** Node timers overflow above 2^31-1 ms (~24.8 days) and fire at once; clamp below that. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long after receipt an access token whose expiry the provider did not give (or gave as already
 * past) is renewed: often enough for the usual token lifetimes, and never a tight loop.
 */
export const UNKNOWN_EXPIRY_RENEWAL_MS = 5 * 60_000;

/** When the provider can't be reached, renewal is retried with backoff between these bounds. */
export const RETRY_BASE_MS = 15_000;
export const RETRY_MAX_MS = 5 * 60_000;

/** Milliseconds from `now` until the refresh should run (0 = now). */
export function refreshDelayMs(receivedAt: number, expiresAt: number | undefined, now: number): number {
  const lifetime = expiresAt === undefined ? 0 : expiresAt - receivedAt;
  let refreshAt = receivedAt + UNKNOWN_EXPIRY_RENEWAL_MS;
  if (expiresAt !== undefined && lifetime > 0) {
    const lead = Math.max(lifetime * (1 - REFRESH_AT_FRACTION), Math.min(REFRESH_LEAD_MS, lifetime / 2));
    refreshAt = expiresAt - lead;
  }
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(refreshAt - now)));
}

/**
 * Delay before retry number `attempt` (1, 2, ...) after the provider could not be reached:
 * exponential with ±20% jitter so a fleet of laptops waking up together doesn't retry in lockstep.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** True when a token expiring at `expiresAt` is still usable for at least `marginMs` more. */
export function isFresh(expiresAt: number | undefined, now: number, marginMs: number): boolean {
  return expiresAt === undefined || expiresAt - now > marginMs;
}

export interface BackoffSettings {
  /** Delay ceiling for the first retry. */
  initialMs: number;
  /** Delay ceiling once the exponent has grown past it. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 1_000, maxMs: 60_000 };

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt up to `maxMs`, and the
 * delay is drawn from its upper half. Half keeps a floor (no hammering a server that just came back),
 * the random half spreads a fleet of devices that all lost the server at the same moment.
 */
export function backoffDelayMs(attempt: number, settings: BackoffSettings = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

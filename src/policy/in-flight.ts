import type { NormalizedRequest } from '../providers/types.js';

/**
 * Usage of requests already admitted whose answers have not been charged yet.
 *
 * Token and spend windows are charged when an answer ends, so without this every request sent while
 * others are still being answered was decided on a count that left them all out: an agent firing 30
 * requests at once against a budget with $0.50 left was let through 30 times. Each admitted request
 * now holds its estimated cost in the windows it will be charged to, the decision counts what is held
 * as used, and the hold is released when the real usage is charged (or the exchange ends without any).
 *
 * The estimate is the prompt only (the answer's length is unknown until it arrives), so a burst can
 * still overshoot by the answers of the requests it admitted: prompts that fit are all let through, and
 * each answer is charged when it ends (30 parallel 100-token prompts with 4,000-token answers against
 * $0.50 left were all admitted and spent $1.21). Holding `max_tokens` as well would refuse requests
 * whose answers fit easily (coding agents ask for 32,000), and Bifrost itself admits on spend so far,
 * with no reservation at all. Holds live in memory only: a restart ends every exchange anyway.
 *
 * A hold no one released is dropped after a while, so a path that never released it cannot block a key for
 * good: after DEFAULT_MAX_HOLD_MS, or the age its reservation asked for. A background response's request holds
 * its prompt as long as Edge waits for its usage (an hour; background-responses.ts), longer than any exchange:
 * dropped after 30 minutes, requests decided in the last half hour would count as if it had not been admitted.
 */

export interface Hold {
  counterKey: string;
  amount: number;
}

export interface Reservation {
  /** Gives the held amounts back; safe to call more than once. */
  release(): void;
}

interface Held {
  amount: number;
  sinceMs: number;
  maxAgeMs: number;
}

const NOTHING_HELD: Reservation = { release: () => {} };

/** A hold older than this is ignored, unless it asked for another age: a path that never released it must not block a key for good. */
export const DEFAULT_MAX_HOLD_MS = 30 * 60_000;

export class InFlightUsage {
  private readonly byCounter = new Map<string, Set<Held>>();

  constructor(private readonly maxHoldMs = DEFAULT_MAX_HOLD_MS) {}

  /** `maxAgeMs`: how long the holds count unless released (default the instance's, DEFAULT_MAX_HOLD_MS). */
  reserve(holds: readonly Hold[], nowMs: number, maxAgeMs = this.maxHoldMs): Reservation {
    const placed: Array<{ counterKey: string; held: Held }> = [];
    for (const { counterKey, amount } of holds) {
      if (!(amount > 0)) continue;
      let set = this.byCounter.get(counterKey);
      if (!set) {
        set = new Set();
        this.byCounter.set(counterKey, set);
      }
      const held = { amount, sinceMs: nowMs, maxAgeMs };
      set.add(held);
      placed.push({ counterKey, held });
    }
    if (placed.length === 0) return NOTHING_HELD;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const { counterKey, held } of placed) {
          const set = this.byCounter.get(counterKey);
          set?.delete(held);
          if (set?.size === 0) this.byCounter.delete(counterKey);
        }
      },
    };
  }

  /** What admitted requests hold right now, by counter key (stale holds are dropped on the way). */
  heldByCounter(nowMs: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [counterKey, set] of this.byCounter) {
      let sum = 0;
      for (const held of set) {
        if (nowMs - held.sinceMs > held.maxAgeMs) set.delete(held);
        else sum += held.amount;
      }
      if (set.size === 0) this.byCounter.delete(counterKey);
      else out.set(counterKey, sum);
    }
    return out;
  }
}

/**
 * The prompt's size in tokens, roughly: four characters a token, the usual rule for English text and
 * code (tokenizers differ by model, and Edge does not ship them). Only what Edge read as prompt text.
 */
export function estimatedPromptTokens(request: NormalizedRequest): number {
  let chars = 0;
  for (const span of request.texts) chars += span.text.length;
  return Math.ceil(chars / 4);
}

import type { LimitWindow } from './limits.js';
import { windowIdentity, windowSuccessions, type WindowIdentity } from './window-succession.js';

/**
 * The windows of the policy applied now that continue a window charged under an earlier one (a background request's
 * estimate, trued up hours later): the amount charged then sits in their counters, so a correction goes there too.
 *
 * Matched as a sync carries counters over (window-succession.ts): the window itself when its counter key still names
 * it; the window it moved to (a config or budget counted by its place, another inserted before it); each of several
 * nothing tells apart (each continued from the largest counter, so each holds the amount); none when the policy has
 * no such window any more (removed, its reset duration changed: a new window, which never counted the amount).
 */
export function successorWindows(charged: WindowIdentity, current: readonly LimitWindow[]): LimitWindow[] {
  // Where it was, as it was: itself (matching it alone against the whole policy would also take identical neighbours).
  const unchanged = current.find((w) => w.counterKey === charged.counterKey && JSON.stringify(windowIdentity(w)) === JSON.stringify(charged));
  if (unchanged) return [unchanged];
  const moved = new Map(windowSuccessions([charged], current.map(windowIdentity)).map((s) => [s.counterKey, s.from]));
  return current.filter((window) => {
    const from = moved.get(window.counterKey);
    return from ? from.includes(charged.counterKey) : window.counterKey === charged.counterKey;
  });
}

/**
 * The windows of the policy applied now that `charged` (windows captured when a request was decided) continue: each
 * one's successors, or itself where it has none (removed, or a new reset duration), as a charge decided then would
 * have gone there. Each window once, though two captured ones continue into it.
 */
export function windowsFollowed(charged: readonly LimitWindow[], current: readonly LimitWindow[]): LimitWindow[] {
  const followed = new Map<string, LimitWindow>();
  for (const window of charged) {
    const successors = successorWindows(windowIdentity(window), current);
    for (const successor of successors.length > 0 ? successors : [window]) {
      if (!followed.has(successor.counterKey)) followed.set(successor.counterKey, successor);
    }
  }
  return [...followed.values()];
}

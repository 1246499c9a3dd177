import type { LimitWindow, Metric } from './limits.js';

/**
 * Which counter each window of a newly applied bundle continues, when its counter key is not what it was
 * in the bundle applied before: a provider config or budget without an id is counted by its place
 * (limits.ts counterKey), and that place moves when a config or budget before it is removed or inserted.
 * A sync must not reset such a window to zero (or hand it a neighbour's count) while it is still in the
 * policy, so each window of the new bundle is matched to the window it was in the previous one.
 *
 * A window is matched by what it is, not where it sits: its key, provider and config id, metric,
 * duration, and its budget id or its maximum; failing that, the same without the config id (a config that
 * gained one keeps its counters). Only an unambiguous match (one window on each side with
 * that identity) carries a counter over. Windows nothing tells apart (two configs with the same budget,
 * no ids) that were not just left in place are ambiguous: each then continues from the largest of their
 * counters, so a sync never loses a use; it may count one against both (the safe side of a limit).
 * Windows counted by ids only keep their key: the gateway's ids say which window it is.
 */

/** What a window is, apart from where it sits; persisted with the bundle's windows (counter-store.ts). */
export interface WindowIdentity {
  counterKey: string;
  keyId: string;
  provider?: string;
  /** The gateway's id of the provider config the window belongs to, if it has one. */
  configId?: string;
  metric: Metric;
  resetDuration: string;
  max: number;
  budgetId?: string;
  /** The counter key names a place in a list (a config or budget without an id), which moves with the list. */
  byPlace: boolean;
}

/** A window of the new bundle whose counter is not the row under its own key: it reads `from` instead. */
export interface Succession {
  counterKey: string;
  /**
   * The counter keys of the previous bundle whose rows it continues: one (the same window), several (it
   * cannot be told which: the largest running one), none (its key was another window's, which moved).
   */
  from: string[];
}

export function windowIdentity(window: LimitWindow): WindowIdentity {
  return {
    counterKey: window.counterKey,
    keyId: window.keyId,
    ...(window.provider !== undefined ? { provider: window.provider } : {}),
    ...(window.configRef !== undefined && 'id' in window.configRef ? { configId: window.configRef.id } : {}),
    metric: window.metric,
    resetDuration: window.resetDuration,
    max: window.max,
    ...(window.budgetId !== undefined ? { budgetId: window.budgetId } : {}),
    byPlace: (window.configRef !== undefined && 'place' in window.configRef) || (window.budgetRef !== undefined && 'place' in window.budgetRef),
  };
}

/**
 * What must match for a window to be the same one, strictest first: a budget with an id is that budget,
 * whatever its maximum. Then the same without the config's id, for a config that gained one (or lost it)
 * with the sync; only windows the first left unmatched are matched so.
 */
const IDENTITIES: ReadonlyArray<(w: WindowIdentity) => string> = [
  (w) => JSON.stringify([w.keyId, w.provider ?? null, w.configId ?? null, w.metric, w.resetDuration, w.budgetId ?? null, w.budgetId === undefined ? w.max : null]),
  (w) => JSON.stringify([w.keyId, w.provider ?? null, w.metric, w.resetDuration, w.budgetId ?? null, w.budgetId === undefined ? w.max : null]),
];

/**
 * The windows of `next` (the bundle being applied) that do not simply keep the row under their own key,
 * given the windows of `previous` (the bundle applied before, persisted across restarts).
 */
export function windowSuccessions(previous: readonly WindowIdentity[], next: readonly WindowIdentity[]): Succession[] {
  const previousKeys = new Set(previous.map((w) => w.counterKey));
  const sources = new Map<string, string[]>();
  // Counted by ids only, and there before: the same window.
  const kept = new Set(next.filter((w) => !w.byPlace && previousKeys.has(w.counterKey)).map((w) => w.counterKey));
  let unmatched = {
    previous: previous.filter((w) => !kept.has(w.counterKey)),
    next: next.filter((w) => !kept.has(w.counterKey)),
  };
  for (const identityOf of IDENTITIES) {
    const byIdentity = new Map<string, { previous: WindowIdentity[]; next: WindowIdentity[] }>();
    const groupOf = (w: WindowIdentity) => {
      const identity = identityOf(w);
      let group = byIdentity.get(identity);
      if (!group) byIdentity.set(identity, group = { previous: [], next: [] });
      return group;
    };
    for (const w of unmatched.previous) groupOf(w).previous.push(w);
    for (const w of unmatched.next) groupOf(w).next.push(w);
    const matched = new Set<WindowIdentity>();
    for (const group of byIdentity.values()) {
      if (group.previous.length === 0 || group.next.length === 0) continue;
      const from = group.previous.map((w) => w.counterKey);
      const stayed = group.previous.length === group.next.length && group.next.every((w) => from.includes(w.counterKey));
      // Left in place: keep (nothing says the identical windows traded places). Else one to one, or ambiguous.
      for (const w of group.next) sources.set(w.counterKey, stayed ? [w.counterKey] : from);
      for (const w of [...group.previous, ...group.next]) matched.add(w);
    }
    unmatched = { previous: unmatched.previous.filter((w) => !matched.has(w)), next: unmatched.next.filter((w) => !matched.has(w)) };
  }
  // A window under a key whose counter another window took along starts afresh, not from that count;
  // otherwise the row under its key is its own (a window whose maximum changed, say).
  const takenAlong = new Set([...sources].flatMap(([key, from]) => from.filter((source) => source !== key)));
  for (const w of next) {
    if (!kept.has(w.counterKey) && !sources.has(w.counterKey) && takenAlong.has(w.counterKey)) sources.set(w.counterKey, []);
  }
  return [...sources]
    .filter(([key, from]) => !(from.length === 1 && from[0] === key))
    .map(([counterKey, from]) => ({ counterKey, from }));
}

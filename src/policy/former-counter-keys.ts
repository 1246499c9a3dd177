/**
 * Counter keys of earlier versions, so counters a device persisted before an upgrade keep counting
 * (counter-store.ts gives a window without a row of its own its share when a bundle is applied, once).
 *
 * `previous`: the version before provider configs had counters of their own. It counted every config of a
 * provider under one scope (`vk:K/provider:P`), and a budget without an id under the bare key of its
 * duration, or `|budget#<place in the list>` when another budget of that duration had an id or took the
 * bare key first. `original`: the version before budgets had counters of their own (no budget part at
 * all). Both charged a row once per window that shared it, so such a row holds that many times the real use.
 */

export interface FormerCounterKeys {
  previous: string;
  original: string;
}

/** A row of an earlier version that a counter without a row of its own reads, divided among the windows that shared it. */
export interface FormerCounter {
  key: string;
  shares: number;
}

/** The scope of the previous versions: the key's own, or every config of a provider under one. */
export function previousScope(keyId: string, provider: string | undefined): string {
  return provider === undefined ? `vk:${keyId}` : `vk:${keyId}/provider:${provider}`;
}

/**
 * The budget part of each budget's key in the previous version, for one list (one owner's budgets, ids as
 * limits.ts reads them): by id; without one, none (the bare key of its duration) unless a budget of that
 * duration had an id or took the bare key first, then its place in the list.
 */
export function previousBudgetRefs(budgets: ReadonlyArray<{ id: string | undefined; resetDuration: string }>): string[] {
  const durationsWithId = new Set(budgets.filter((b) => b.id !== undefined).map((b) => b.resetDuration));
  const bareTaken = new Set<string>();
  return budgets.map((budget, index) => {
    if (budget.id !== undefined) return `|budget:${budget.id}`;
    if (durationsWithId.has(budget.resetDuration) || bareTaken.has(budget.resetDuration)) return `|budget#${index + 1}`;
    bareTaken.add(budget.resetDuration);
    return '';
  });
}

/**
 * For each window (all of a bundle's) whose counter may have no row of its own yet, the rows of earlier
 * versions it reads in its stead, newest first, with how many windows shared each.
 *
 * A key of the previous version that is still a window's own counter (a key's rate limit, a budget by id)
 * is that window's row and read by nobody else. A key of the original version is read only by windows that
 * had no row of the previous version in its place: where the previous version counted a window under it,
 * that row grew once per use from then on and no longer says what the others used.
 */
export function formerCounterReads(windows: Iterable<{ counterKey: string; formerKeys: FormerCounterKeys }>): Map<string, FormerCounter[]> {
  const all = [...windows];
  const own = new Set(all.map((w) => w.counterKey));
  const byPrevious = countBy(all.map((w) => w.formerKeys.previous));
  const byOriginal = countBy(all.filter((w) => w.formerKeys.original !== w.formerKeys.previous).map((w) => w.formerKeys.original));
  const out = new Map<string, FormerCounter[]>();
  for (const window of all) {
    const { previous, original } = window.formerKeys;
    const reads: FormerCounter[] = [];
    if (!own.has(previous)) reads.push({ key: previous, shares: byPrevious.get(previous) ?? 1 });
    if (original !== previous && !own.has(original) && !byPrevious.has(original)) reads.push({ key: original, shares: byOriginal.get(original) ?? 1 });
    if (reads.length > 0) out.set(window.counterKey, reads);
  }
  return out;
}

function countBy(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

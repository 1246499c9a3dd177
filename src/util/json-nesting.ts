/**
 * Whether a parsed JSON value nests arrays or objects more than `max` levels deep. Iterative (an explicit stack,
 * no recursion), so a value nested thousands of levels deep, which JSON.parse reads but JSON.stringify and any
 * recursive walk overflow on, is measured without exhausting the call stack.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const item = pending.pop()!;
    if (item.value === null || typeof item.value !== 'object') continue;
    const depth = item.depth + 1;
    if (depth > max) return true;
    for (const child of Array.isArray(item.value) ? item.value : Object.values(item.value)) {
      if (child !== null && typeof child === 'object') pending.push({ value: child, depth });
    }
  }
  return false;
}

/**
 * Counts the array elements copied while `run` runs: spread, Array.from, for-of and destructuring (each step of
 * an array iterator), slice and concat (each element of what they return). A walk that copies the path so far
 * for each level it goes down copies quadratically many; one that links each level to its parent copies none.
 * Counted, not timed, so a test can tell the two apart on a busy machine (speed is `npm run bench`'s business).
 */
export function arrayElementsCopied(run: () => void): number {
  let copied = 0;
  const iteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]()) as { next: (this: Iterator<unknown>) => IteratorResult<unknown> };
  const next = iteratorPrototype.next;
  const slice = Array.prototype.slice;
  const concat = Array.prototype.concat;
  iteratorPrototype.next = function (this: Iterator<unknown>) {
    copied++;
    return next.call(this);
  };
  Array.prototype.slice = function (this: unknown[], ...args: Parameters<typeof slice>) {
    const result = slice.apply(this, args);
    copied += result.length;
    return result;
  };
  Array.prototype.concat = function (this: unknown[], ...items: unknown[]) {
    const result = concat.apply(this, items) as unknown[];
    copied += result.length;
    return result;
  } as typeof concat;
  try {
    run();
  } finally {
    iteratorPrototype.next = next;
    Array.prototype.slice = slice;
    Array.prototype.concat = concat;
  }
  return copied;
}

/**
 * A parsed JSON value behind proxies that count every look a reader takes at its objects and arrays: a measure of
 * a walk's work that does not depend on how busy the machine is, so a test can tell linear from quadratic without
 * a clock (speed itself is `npm run bench`'s business).
 */
export interface CountedJson {
  /** The same value, every object and array in it wrapped. */
  value: unknown;
  /** Looks taken so far: property reads, key listings, own-property checks. */
  looks(): number;
}

export function countedJson(json: unknown): CountedJson {
  let looks = 0;
  const handler: ProxyHandler<object> = {
    get(target, key, receiver) {
      looks++;
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      looks++;
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      looks++;
      return Reflect.ownKeys(target);
    },
    getOwnPropertyDescriptor(target, key) {
      looks++;
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  };
  // Wrapped bottom-up without recursion: a test body may be nested deeper than the stack.
  const wrap = (root: unknown): unknown => {
    if (root === null || typeof root !== 'object') return root;
    const order: object[] = [];
    const pending: object[] = [root];
    while (pending.length > 0) {
      const node = pending.pop()!;
      order.push(node);
      for (const child of Object.values(node)) if (child !== null && typeof child === 'object') pending.push(child as object);
    }
    const wrapped = new Map<object, object>();
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const copy: Record<string, unknown> | unknown[] = Array.isArray(node) ? [] : {};
      for (const [key, child] of Object.entries(node)) (copy as Record<string, unknown>)[key] = child !== null && typeof child === 'object' ? wrapped.get(child as object) : child;
      wrapped.set(node, new Proxy(copy, handler));
    }
    return wrapped.get(root);
  };
  const value = wrap(json);
  looks = 0;
  return { value, looks: () => looks };
}

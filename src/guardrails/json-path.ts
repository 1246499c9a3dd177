/** JSON paths as TextSpan carries them (`['messages', 1, 'content']`), for messages and in-place edits. */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['messages', 1, 'content']` → `messages[1].content`; odd keys are quoted: `metadata["x-id"]`. */
export function formatJsonPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(body)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

export function getAtPath(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** Sets a value in place; false when the parent does not exist. An empty path cannot be set in place. */
export function setAtPath(root: unknown, path: ReadonlyArray<string | number>, value: unknown): boolean {
  if (path.length === 0) return false;
  const parent = getAtPath(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return false;
  (parent as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  return true;
}

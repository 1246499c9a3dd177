import { BodyShapeError } from './body-shape.js';
import type { TextSpan, ToolInfo } from './types.js';

export type JsonPath = Array<string | number>;

/** Texts and tools collected while walking a body, each with the JSON path guardrails redact in place. */
export interface Extraction {
  texts: TextSpan[];
  tools: ToolInfo[];
}

/** What a body reader found: the model and stream flag as the body states them, and the texts and tools. */
export interface BodyReading {
  model: string | null;
  stream: boolean;
  extraction: Extraction;
}

export function newExtraction(): Extraction {
  return { texts: [], tools: [] };
}

export function addText(x: Extraction, path: JsonPath, text: string, kind: TextSpan['kind']): void {
  x.texts.push({ path: [...path], text, kind });
}

export function addTool(x: Extraction, path: JsonPath, name: string, kind: ToolInfo['kind']): void {
  x.tools.push({ name, kind, path: [...path] });
}

/**
 * How deep a body's JSON may nest where Edge reads every string (serde_json's default limit; agents' tool schemas and
 * arguments stay far below it). Deeper, the value is refused rather than read in part or let through unread.
 */
export const MAX_READ_NESTING = 128;

/**
 * A value still to walk: where it sits is kept as a link to its parent, the path built only for a string found.
 * `keyOf`: the item is the key `value` of the object `parent` (addStringsAndKeys), not a value under it.
 */
interface PendingLeaf {
  value: unknown;
  parent: PendingLeaf | undefined;
  key: string | number;
  depth: number;
  keyOf?: true;
}

function pathOf(at: PendingLeaf, base: JsonPath): JsonPath {
  const keys: JsonPath = [];
  for (let node: PendingLeaf | undefined = at; node?.parent !== undefined; node = node.parent) keys.push(node.key);
  return [...base, ...keys.reverse()];
}

/**
 * Every string leaf under `value` as its own span: structured tool arguments and results (Anthropic
 * `tool_use.input`, Gemini `functionCall.args`) keep their shape, and a redaction replaces only the leaf.
 * Iterative and linear in the size of the value: where a value sits is a link to its parent, and a path is built
 * only for a string found, so neither a deep value's stack nor its paths grow with depth squared. A value nested
 * deeper than MAX_READ_NESTING (counted from the body) is refused with a BodyShapeError (a 400). Keys in
 * `skipKeys` are left out at any depth (opaque data such as encrypted state or an image).
 */
export function addStringLeaves(
  x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind'], skipKeys?: ReadonlySet<string>,
): void {
  walkStrings(x, value, path, kind, { ...(skipKeys ? { skipKeys } : {}) });
}

/**
 * Every string under `value` as its own span, object keys included (free-form maps whose keys are user data: MCP
 * tool arguments), with addStringLeaves' limits. A value's span points at the value, which a redaction replaces in
 * place. A key's span points at the object holding the key, and comes just before its value: no string is there to
 * replace, so a finding the policy would redact blocks instead (the guardrails fail closed), and a refusal names
 * the object, never the key itself (which is the sensitive text).
 */
export function addStringsAndKeys(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  walkStrings(x, value, path, kind, { readsKey: () => true });
}

/**
 * addStringsAndKeys for a value whose keys are partly a fixed vocabulary: only the keys `readsKey` accepts get a
 * span (a JSON schema's property names, not its keywords). Same walk, same limits, same key spans.
 */
export function addStringsAndNamedKeys(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind'], readsKey: (key: string) => boolean): void {
  walkStrings(x, value, path, kind, { readsKey });
}

function walkStrings(
  x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind'], options: { skipKeys?: ReadonlySet<string>; readsKey?: (key: string) => boolean },
): void {
  const { skipKeys, readsKey } = options;
  const pending: PendingLeaf[] = [{ value, parent: undefined, key: '', depth: path.length }];
  while (pending.length > 0) {
    const item = pending.pop()!;
    const current = item.value;
    if (item.keyOf) {
      x.texts.push({ path: pathOf(item.parent!, path), text: current as string, kind });
      continue;
    }
    if (typeof current === 'string') {
      x.texts.push({ path: pathOf(item, path), text: current, kind });
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    // Named by where the walk started: the path down to the limit would be too long to read (or fit a close frame).
    if (item.depth >= MAX_READ_NESTING) throw tooDeep(path);
    const depth = item.depth + 1;
    if (Array.isArray(current)) {
      // Pushed in reverse so spans come out in document order.
      for (let i = current.length - 1; i >= 0; i--) pending.push({ value: current[i], parent: item, key: i, depth });
    } else {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        if (skipKeys?.has(key) === true) continue;
        pending.push({ value: (current as Record<string, unknown>)[key], parent: item, key, depth });
        // Pushed after its value, so it comes out before it.
        if (readsKey?.(key) === true) pending.push({ value: key, parent: item, key, depth, keyOf: true });
      }
    }
  }
}

function tooDeep(path: JsonPath): BodyShapeError {
  return new BodyShapeError(
    path,
    `holds arrays or objects nested more than ${MAX_READ_NESTING} levels deep in the body, deeper than Bifrost Edge reads; send it with less nesting`,
  );
}

/**
 * Tool results name only the id of the call they answer (`tool_call_id`, `tool_use_id`, `call_id`), so the
 * tool's name comes from the call with that id. Results whose call is not in the request (it was made in an
 * earlier, stored response) cannot be named and are left out of the tools list; their text is still read.
 */
export interface CallLinker {
  recordCall(id: unknown, name: string): void;
  /** `path` points at the result's id field. */
  recordResult(id: unknown, path: JsonPath): void;
  /** Adds a `result` tool for every result whose call was recorded. */
  addResults(x: Extraction): void;
}

export function newCallLinker(): CallLinker {
  const names = new Map<string, string>();
  const results: Array<{ id: string; path: JsonPath }> = [];
  return {
    recordCall: (id, name) => {
      if (typeof id === 'string') names.set(id, name);
    },
    recordResult: (id, path) => {
      if (typeof id === 'string') results.push({ id, path: [...path] });
    },
    addResults: (x) => {
      for (const { id, path } of results) {
        const name = names.get(id);
        if (name !== undefined) addTool(x, path, name, 'result');
      }
    },
  };
}

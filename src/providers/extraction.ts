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
 * Every string leaf under `value` as its own span: structured tool arguments and results (Anthropic
 * `tool_use.input`, Gemini `functionCall.args`) keep their shape, and a redaction replaces only the leaf.
 * Iterative, so a deeply nested body cannot exhaust the stack. Keys in `skipKeys` are left out at any depth (opaque
 * data such as encrypted state or an image).
 */
export function addStringLeaves(
  x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind'], skipKeys?: ReadonlySet<string>,
): void {
  const pending: Array<{ value: unknown; path: JsonPath }> = [{ value, path }];
  while (pending.length > 0) {
    const item = pending.pop()!;
    if (typeof item.value === 'string') {
      addText(x, item.path, item.value, kind);
    } else if (Array.isArray(item.value)) {
      // Pushed in reverse so spans come out in document order.
      for (let i = item.value.length - 1; i >= 0; i--) pending.push({ value: item.value[i], path: [...item.path, i] });
    } else if (item.value !== null && typeof item.value === 'object') {
      const entries = Object.entries(item.value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (skipKeys?.has(key) === true) continue;
        pending.push({ value: child, path: [...item.path, key] });
      }
    }
  }
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

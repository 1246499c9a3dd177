import { edgeError, type EdgeError } from '../edge-error.js';
import { parseJsonText, withoutByteOrderMark } from '../util/json-text.js';
import { formatJsonPath } from './body-shape.js';
import type { JsonPath } from './extraction.js';
import { findDuplicateKey, type DuplicateKey } from './json-duplicate-keys.js';
import { findFoldedKey, isFieldEdgeReads, type FoldedKeyProblem } from './json-key-folding.js';
import { findJsonSyntaxError } from './json-syntax.js';

export type JsonBodyResult = { ok: true; value: unknown } | { ok: false; error: EdgeError };

export interface JsonBodyContext {
  /** `POST /v1/chat/completions`, used in messages. */
  method: string;
  pathname: string;
  provider?: string;
  /** Model named by the route itself (Gemini's path), so even a malformed body's error names it. */
  model?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an inspected route's (already content-decoded) body. Failures are 400 `invalid_request` errors
 * that say what was wrong and where (line and column), and never quote the body. A body with keys that the
 * gateway would read otherwise than Edge is refused too: a key an object holds twice (json-duplicate-keys.ts), or
 * keys that differ only in letter case, which the gateway takes for one (json-key-folding.ts).
 */
export function parseJsonBody(raw: string | Uint8Array | undefined, context: JsonBodyContext): JsonBodyResult {
  const route = `${context.method} ${context.pathname}`;
  const invalid = (message: string): JsonBodyResult => ({
    ok: false,
    error: edgeError(400, 'invalid_request', message, {
      ...(context.provider !== undefined ? { provider: context.provider } : {}),
      ...(context.model !== undefined ? { model: context.model } : {}),
    }),
  });

  let text: string;
  if (raw === undefined) {
    text = '';
  } else if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      text = utf8.decode(raw);
    } catch {
      return invalid(`The request body of ${route} is not valid UTF-8 text. Send the JSON body encoded as UTF-8.`);
    }
  }
  // A byte-order mark is legal in a UTF-8 file but not in JSON text; providers ignore it, so does Edge.
  if (withoutByteOrderMark(text).trim() === '') return invalid(`The request body of ${route} is empty. Send a JSON object.`);

  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch {
    const problem = findJsonSyntaxError(withoutByteOrderMark(text));
    const where = problem ? `: ${problem.problem} at line ${problem.line}, column ${problem.column}` : '';
    return invalid(`The request body of ${route} is not valid JSON${where}. Fix the JSON and send it again.`);
  }
  const duplicate = findDuplicateKey(withoutByteOrderMark(text));
  if (duplicate !== undefined) return invalid(duplicateKeyMessage(route, duplicate));
  const folded = findFoldedKey(value);
  return folded === undefined ? { ok: true, value } : invalid(foldedKeyMessage(route, folded));
}

/**
 * Why a key that a case-insensitive reader (the Bifrost gateway) reads otherwise than Edge is refused. Names
 * the keys only when they fold to a field Edge reads: any other key may be data (a token pasted as a name).
 */
export function foldedKeyMessage(route: string, problem: FoldedKeyProblem): string {
  const where = problem.path.length === 0 ? 'in the request body' : `in ${formatJsonPath(problem.path)}`;
  const gateway = 'the Bifrost gateway, like any Go server, matches field names regardless of letter case (the long s U+017F counting as s, the Kelvin sign U+212A as k)';
  const oneField = 'so it takes them for one field and could read another value than the one Bifrost Edge inspected';
  if (problem.kind === 'misspelled') {
    const field = quoteKey(problem.field);
    return `The request body of ${route} has the key ${quoteKey(problem.key)} ${where}, the field ${field} spelled otherwise: ${gateway}, `
      + `so it reads the key as ${field}, which Bifrost Edge inspects only when spelled exactly. Spell it exactly ${field} and send the request again.`;
  }
  if (problem.field === undefined) {
    return `The request body of ${route} has two keys ${where} that differ only in letter case (not quoted here: they are no field Edge reads, so they may be data): `
      + `${gateway}, ${oneField}. Send each field once, spelled exactly as the API documents it, and send the request again.`;
  }
  return `The request body of ${route} has both ${quoteKey(problem.keys[0])} and ${quoteKey(problem.keys[1])} ${where}: ${gateway}, ${oneField}. `
    + `Send each field once, spelled exactly as the API documents it (${quoteKey(problem.field)}), and send the request again.`;
}

/**
 * Documented request fields Edge does not read, which a message may name all the same: the APIs chose them, no user
 * did. With the fields Edge reads, the only keys a refusal quotes; any other key may be data (a token pasted as a name).
 */
const OTHER_DOCUMENTED_FIELDS: ReadonlySet<string> = new Set([
  'metadata', 'labels', 'user', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'stop',
  'response_format', 'json_schema', 'schema', 'properties', 'format', 'tool_choice', 'reasoning', 'thinking', 'input_schema',
  'headers', 'generationConfig', 'generation_config', 'safetySettings', 'safety_settings', 'toolConfig', 'tool_config',
  'cachedContent', 'cached_content', 'protocolVersion', 'capabilities', 'clientInfo',
]);

function isKnownFieldName(key: string | number): boolean {
  return typeof key === 'number' || isFieldEdgeReads(key) || OTHER_DOCUMENTED_FIELDS.has(key);
}

/**
 * Why a body with a key twice in one object is refused. Names the key by its path when every key on it is a known
 * field name; else only the object holding it, or the nearest one above whose path is all known names.
 */
function duplicateKeyMessage(route: string, duplicate: DuplicateKey): string {
  const keyPath: JsonPath = [...duplicate.path, duplicate.key];
  const firstUnknown = keyPath.findIndex((key) => !isKnownFieldName(key));
  const which = firstUnknown === -1
    ? `the key ${formatJsonPath(keyPath)} twice`
    : firstUnknown === keyPath.length - 1
      ? `a key of ${formatJsonPath(duplicate.path)} twice (not quoted here: it is no field Edge knows, so it may be data)`
      : `a key twice inside ${formatJsonPath(keyPath.slice(0, firstUnknown))} (not quoted here: keys there may be data)`;
  return `The request body of ${route} has ${which}. Bifrost Edge reads only the last of two equal keys, but other readers do not: `
    + 'Go readers (the Bifrost gateway, Go MCP servers) merge two objects under one key into one, and some parsers keep the first, '
    + 'so the request could act on a value Bifrost Edge never inspected. Send each key once (merge the two values into one) and send the request again.';
}

/** A key in quotes, characters outside printable ASCII escaped, so `meſſages` does not pass for `messages`. */
function quoteKey(key: string): string {
  return JSON.stringify(key).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

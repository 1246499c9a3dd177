import { edgeError, type EdgeError } from '../edge-error.js';
import { parseJsonText, withoutByteOrderMark } from '../util/json-text.js';
import { formatJsonPath } from './body-shape.js';
import { findFoldedKey, type FoldedKeyProblem } from './json-key-folding.js';
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
 * gateway, which matches keys regardless of letter case, would read otherwise than Edge is refused too
 * (json-key-folding.ts).
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
  const folded = isMcpHostBody(context) ? undefined : findFoldedKey(value);
  return folded === undefined ? { ok: true, value } : invalid(foldedKeyMessage(route, folded));
}

/**
 * MCP hosts (provider `custom`, the hosts the intercept list adds) are left out of the folded-key check for now:
 * mcp.ts reads a failed parse of a POST without MCP headers as "not JSON, so not MCP" and forwards it uninspected,
 * so refusing its body here would let a tools/call with a `NAME` key past every tool rule instead of stopping it.
 */
function isMcpHostBody(context: JsonBodyContext): boolean {
  return context.provider === 'custom' || context.provider === 'mcp';
}

/**
 * Why a key that a case-insensitive reader (the Bifrost gateway) reads otherwise than Edge is refused. Names
 * the keys only when they fold to a field Edge reads: any other key may be data (a token pasted as a name).
 */
function foldedKeyMessage(route: string, problem: FoldedKeyProblem): string {
  const where = problem.path.length === 0 ? 'in the request body' : `in ${formatJsonPath(problem.path)}`;
  const gateway = 'the Bifrost gateway matches field names regardless of letter case (the long s U+017F counting as s, the Kelvin sign U+212A as k)';
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

/** A key in quotes, characters outside printable ASCII escaped, so `meſſages` does not pass for `messages`. */
function quoteKey(key: string): string {
  return JSON.stringify(key).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

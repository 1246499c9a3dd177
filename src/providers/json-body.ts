import { edgeError, type EdgeError } from '../edge-error.js';
import { parseJsonText, withoutByteOrderMark } from '../util/json-text.js';
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
 * that say what was wrong and where (line and column), and never quote the body.
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

  try {
    return { ok: true, value: parseJsonText(text) };
  } catch {
    const problem = findJsonSyntaxError(withoutByteOrderMark(text));
    const where = problem ? `: ${problem.problem} at line ${problem.line}, column ${problem.column}` : '';
    return invalid(`The request body of ${route} is not valid JSON${where}. Fix the JSON and send it again.`);
  }
}

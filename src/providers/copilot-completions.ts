import { parseWithReaders, type BodyReader, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { expectObject, expectString, optionalField, readStreamFlag, type JsonObject } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { bifrostErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { addStringLeaves, addText, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { locateRequest, operationSegments } from './route-path.js';
import type { HttpRequestInfo } from './types.js';

/**
 * GitHub Copilot's code completions (ghost text): `POST /v1/engines/{engine}/completions` on Copilot's completions
 * proxy, carrying the editor's file around the cursor as `prompt` (before it) and `suffix` (after it), and snippets
 * of related files as `context` or `extra.context`; `/v1/engines/{engine}/speculation` (edits) carries `prompt` and
 * the speculated text. The engine in the path is the model. Copilot's other routes are not this adapter's.
 */

/** The last path segment under `engines/{engine}/` → operation. */
const ENGINE_OPERATIONS: Readonly<Record<string, string>> = {
  completions: 'engines.completions',
  speculation: 'engines.speculation',
};

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined || location.method !== 'POST') return undefined;
  const segments = operationSegments(location);
  if (segments.length !== 3 || segments[0] !== 'engines' || segments[1] === '') return undefined;
  const operation = ENGINE_OPERATIONS[segments[2]!];
  return operation === undefined ? undefined : { ...location, operation, inspected: true, pathModel: segments[1] };
}

/** A field holding code as one string (`prompt`, `suffix`, `speculation`), when present. */
function readCodeField(x: Extraction, body: JsonObject, key: string): void {
  optionalField(body, key, [], (text, p) => addText(x, p, expectString(text, p), 'user'));
}

/**
 * Snippets of other files, read string by string whatever their shape (a string, a list of snippets): the
 * editor clients change it between releases, and none of it may go unread.
 */
function readContextSnippets(x: Extraction, value: unknown, path: JsonPath): void {
  addStringLeaves(x, value, path, 'user');
}

function readCompletion(body: JsonObject): BodyReading {
  const x = newExtraction();
  readCodeField(x, body, 'prompt');
  readCodeField(x, body, 'suffix');
  readContextSnippets(x, body['context'], ['context']);
  optionalField(body, 'extra', [], (extra, p) => readContextSnippets(x, expectObject(extra, p)['context'], [...p, 'context']));
  return { model: null, stream: readStreamFlag(body), extraction: x };
}

function readSpeculation(body: JsonObject): BodyReading {
  const x = newExtraction();
  readCodeField(x, body, 'prompt');
  readCodeField(x, body, 'speculation');
  return { model: null, stream: readStreamFlag(body), extraction: x };
}

const READERS: Readonly<Record<string, BodyReader>> = {
  'engines.completions': readCompletion,
  'engines.speculation': readSpeculation,
};

export const copilotCompletionsAdapter: ProviderAdapter = {
  id: 'copilot-completions',
  recognize,
  parse: parseWithReaders('copilot-completions', READERS),
  // Copilot's editor clients read OpenAI-shaped errors, as on its chat routes.
  errorResponse: (err, opts) => errorResponse(err, bifrostErrorBody(err), { kind: 'data' }, opts),
};

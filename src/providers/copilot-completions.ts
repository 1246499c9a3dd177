import { parseWithReaders, type BodyReader, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { expectObject, expectString, optionalField, readStreamFlag, type JsonObject } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { bifrostErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { addStringLeaves, addText, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { edgeError } from '../edge-error.js';
import { normalizeHost } from './host-pattern.js';
import {
  disguisedDotSegmentRefusal, lookalikeRouteRefusal, readRouteLookalike, unreadablePathRefusal, wrongMethodRefusal, type ReadRoute, type RefusedRouteMatch,
} from './route-lookalike.js';
import { isBlurredName, locateRequest, operationSegments, type RequestLocation } from './route-path.js';
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

/** The routes above as look-alikes are matched against (route-lookalike.ts). */
const READ_ROUTES: ReadonlyArray<ReadRoute & { name: string; operation: string }> = Object.entries(ENGINE_OPERATIONS)
  .map(([last, operation]) => ({ segments: ['engines', '*', last], name: `engines/{engine}/${last}`, operation }));

/**
 * Copilot's host passes the routes Edge does not know, so every spelling its service may answer as a completion is
 * refused unless it is the exact one Edge reads: `/v1/Engines/x/completions`, `/v1/engines/x/Completions;y`,
 * `/v1/engines/x/..;/y/completions` (look-alikes), PUT or PATCH (wrong method), and an engine a lenient service
 * may read as another (`copilot-codex;x`, `copilot-codex.`), since the engine is the model policy judges.
 */
function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const lookalike = lookalikeRefusal(req, entry);
  if (lookalike !== undefined) return lookalike;
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return undefined;
  const disguised = disguisedDotSegmentRefusal(req, entry, location) ?? unreadablePathRefusal(req, entry, location);
  if (disguised !== undefined) return disguised;
  const segments = operationSegments(location);
  if (segments.length !== 3 || segments[0] !== 'engines' || segments[1] === '') return undefined;
  const engine = segments[1]!;
  const operation = ENGINE_OPERATIONS[segments[2]!];
  if (operation === undefined) return undefined;
  if (location.method !== 'POST') return wrongMethodRefusal(req, entry, location, operation);
  if (isBlurredName(engine)) return blurredEngineRefusal(req, entry, location, engine, operation);
  return { ...location, operation, inspected: true, pathModel: engine };
}

/**
 * The refusal of a look-alike of a completion route. Looked for from the root too, not only under `/v1`: the host's
 * other paths pass, and `/V1/engines/x/completions` is outside `/v1` to Edge but under it to a case-blind service.
 */
function lookalikeRefusal(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, [...entry.pathPrefixes, '']);
  if (location === undefined) return undefined;
  const lookalike = readRouteLookalike(location, entry.pathPrefixes, READ_ROUTES);
  return lookalike === undefined ? undefined : lookalikeRouteRefusal(req, entry, location, lookalike.name, lookalike.operation);
}

function blurredEngineRefusal(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation, engine: string, operation: string): RefusedRouteMatch {
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: the engine name ${JSON.stringify(engine)} holds \`;\`, `
      + 'blanks, trailing dots, or control or non-ASCII bytes, which a lenient service may drop and answer another model than the one Edge '
      + `checked policy for. Send the engine's name as ${entry.label} lists it.`, { provider: entry.provider, model: engine });
  return { ...location, operation, inspected: false, refusal };
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

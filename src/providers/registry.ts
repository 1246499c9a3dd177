import { edgeError, type EdgeError } from '../edge-error.js';
import type { BodyReadResult, ErrorResponseOptions, ProviderAdapter, RouteMatch } from './adapter.js';
import { anthropicAdapter } from './anthropic.js';
import type { AdapterId, SurfaceCatalog, SurfaceEntry, UnknownRoutePolicy } from './catalog.js';
import { chatGptWebAdapter } from './chatgpt-web.js';
import { claudeWebAdapter } from './claude-web.js';
import { copilotCompletionsAdapter } from './copilot-completions.js';
import { cursorAdapter } from './cursor.js';
import { geminiAdapter } from './gemini.js';
import { normalizeHost } from './host-pattern.js';
import { readJsonRequestBody } from './json-request-body.js';
import { isRefused } from './route-lookalike.js';
import { mcpAdapter } from './mcp.js';
import { openAICompatibleAdapter } from './openai-compatible.js';
import { isNonCanonicalTarget, longestPrefix, routablePath, splitPathAndQuery, staysOutsideApiPaths } from './route-path.js';
import type { ErrorResponse, HttpRequestInfo, ParseResult } from './types.js';

export const DEFAULT_ADAPTERS: Readonly<Record<AdapterId, ProviderAdapter>> = {
  'openai-compatible': openAICompatibleAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  'chatgpt-web': chatGptWebAdapter,
  'claude-web': claudeWebAdapter,
  mcp: mcpAdapter,
  cursor: cursorAdapter,
  'copilot-completions': copilotCompletionsAdapter,
};

export interface RecognizedRequest {
  entry: SurfaceEntry;
  adapter: ProviderAdapter;
  route: RouteMatch;
}

export interface UnrecognizedRequest {
  entry: SurfaceEntry;
  unrecognized: true;
  /** `reject`: answer with `unknownRouteError`; `pass`: forward uninspected (web pages, assets). */
  action: UnknownRoutePolicy;
}

/** What the provider layer knows about a request; undefined means the host is not an AI surface at all. */
export function recognizeRequest(
  req: HttpRequestInfo,
  catalog: SurfaceCatalog,
  adapters: Readonly<Record<AdapterId, ProviderAdapter>> = DEFAULT_ADAPTERS,
): RecognizedRequest | UnrecognizedRequest | undefined {
  const entry = catalog.match(req.host);
  if (entry === undefined) return undefined;
  if (isNonCanonicalTarget(req.path)) return { entry, unrecognized: true, action: nonCanonicalAction(req.path, entry) };
  const adapter = entry.adapter === null ? undefined : adapters[entry.adapter];
  const route = adapter?.recognize(req, entry);
  if (adapter !== undefined && route !== undefined) return { entry, adapter, route };
  for (const other of entry.alsoServes ?? []) {
    const otherAdapter = adapters[other.adapter];
    const otherRoute = otherAdapter.recognize(req, { ...entry, pathPrefixes: other.pathPrefixes });
    if (otherRoute !== undefined) return { entry, adapter: otherAdapter, route: otherRoute };
  }
  const { pathname } = splitPathAndQuery(req.path);
  const underApi = longestPrefix(routablePath(pathname), entry.pathPrefixes) !== undefined;
  return { entry, unrecognized: true, action: underApi ? entry.unknownRoutes : entry.otherPaths ?? entry.unknownRoutes };
}

/**
 * Reads a recognised request's body (already content-decoded). Uninspected routes never touch the body,
 * which may be a file upload; inspected ones are JSON, or what the adapter reads (forms, protobuf).
 */
export function parseRequest(recognized: RecognizedRequest, rawBody: string | Uint8Array | undefined): ParseResult {
  const { entry, adapter, route } = recognized;
  // As the proxy's resolver does (provider-resolver.ts): a refused route is refused whatever its adapter's parse does.
  if (isRefused(route)) return { ok: false, error: route.refusal };
  if (!route.inspected) return adapter.parse(route, undefined, entry);
  const body = readRequestBody(recognized, rawBody);
  return body.ok ? adapter.parse(route, body.value, entry) : body;
}

/**
 * An inspected route's body as the value its adapter parses, with the way back to bytes after a
 * redaction: the adapter's own reader (Connect protobuf, OpenAI's multipart uploads), else JSON.
 */
export function readRequestBody(recognized: RecognizedRequest, rawBody: string | Uint8Array | undefined): BodyReadResult {
  const { entry, adapter, route } = recognized;
  if (adapter.readBody) return adapter.readBody(route, typeof rawBody === 'string' ? new TextEncoder().encode(rawBody) : rawBody, entry);
  return readJsonRequestBody(route, rawBody, entry);
}

/**
 * A target not in canonical form is refused (an origin could read it as an API route Edge did not inspect), unless
 * the host's other paths pass and no reading of it reaches an API prefix: Azure AI Services also serve their Language
 * and Vision APIs, which clients may call as `//language/...`. A host whose API sits at the root (`''`: ChatGPT,
 * Claude, Copilot) has no path outside it.
 */
function nonCanonicalAction(path: string, entry: SurfaceEntry): UnknownRoutePolicy {
  const otherPathsPass = (entry.otherPaths ?? entry.unknownRoutes) === 'pass';
  return otherPathsPass && !entry.pathPrefixes.includes('') && staysOutsideApiPaths(path, entry.pathPrefixes) ? 'pass' : 'reject';
}

/** 404 for a route Edge does not recognise on a host that only lets documented API routes through. */
export function unknownRouteError(req: HttpRequestInfo, entry: SurfaceEntry): EdgeError {
  // The query string is left out: it may carry an API key (Gemini's `?key=`).
  const { pathname } = splitPathAndQuery(req.path);
  if (isNonCanonicalTarget(req.path)) {
    return edgeError(400, 'invalid_request',
      `Bifrost Edge blocked ${req.method.toUpperCase()} on ${normalizeHost(req.host)}: its path is not in canonical form (dot or empty segments, encoded slashes or dots, backslashes, or a #fragment), so ${entry.label} could read it as another route than Edge would inspect. Send the plain path.`,
      { provider: entry.provider });
  }
  return edgeError(
    404,
    'unknown_route',
    `Bifrost Edge blocked ${req.method.toUpperCase()} ${pathname} on ${normalizeHost(req.host)}: it is not a documented ${entry.label} route. `
      + 'Edge lets through only the documented API routes of AI services, so that no request escapes inspection. '
      + 'If a tool needs this route, ask your administrator to allow it in the Edge policy.',
    { provider: entry.provider },
  );
}

/** An error in the format the surface's clients expect (OpenAI-like JSON for surfaces without an adapter). */
export function errorResponseFor(
  entry: SurfaceEntry,
  err: EdgeError,
  opts: ErrorResponseOptions,
  adapters: Readonly<Record<AdapterId, ProviderAdapter>> = DEFAULT_ADAPTERS,
): ErrorResponse {
  const adapter = (entry.adapter === null ? undefined : adapters[entry.adapter]) ?? openAICompatibleAdapter;
  return adapter.errorResponse(err, opts);
}

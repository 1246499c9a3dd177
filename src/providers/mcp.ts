import type { BodyReadResult, ProviderAdapter, RouteMatch } from './adapter.js';
import { isJsonObject, parseGuarded } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { EDGE_BLOCKED_HEADER } from './error-response.js';
import { normalizeHost } from './host-pattern.js';
import { parseJsonBody } from './json-body.js';
import { foldKey } from './json-key-folding.js';
import { parsePythonJson } from './lenient-json.js';
import { jsonRpcErrorResponse, refusalFor } from './mcp-jsonrpc.js';
import { normalizeMcpBody } from './mcp-messages.js';
import { locateRequest } from './route-path.js';
import { SSE_CONTENT_TYPE } from './sse.js';
import type { ErrorResponse, HttpRequestInfo, NormalizedRequest } from './types.js';
import { header } from '../util/header.js';
import { withoutByteOrderMark } from '../util/json-text.js';

/**
 * MCP over Streamable HTTP (spec 2025-03-26 and later) on an intercepted host: JSON-RPC 2.0 POSTed to the
 * server's endpoint, answered with JSON or an SSE stream; GET opens the server's own stream, DELETE ends a
 * session.
 *
 * Recognition: an MCP endpoint can sit at any path of any host, and a client chooses its headers (the
 * Python SDK's JSON-response servers need neither an `Mcp-*` header nor `Accept: text/event-stream`), so
 * every POST a server could read as JSON-RPC is inspected: one with an `Mcp-Protocol-Version` or
 * `Mcp-Session-Id` header, and one whose Content-Type is JSON or missing, whatever its other headers (the
 * MCP SDKs' servers refuse other content types). Such a POST without MCP's headers whose body is empty, is
 * not JSON, or holds no JSON-RPC message (no member `jsonrpc` or `method`) is the host's other traffic: it
 * goes on uninspected, under the app catalog. A JSON-RPC message is refused, announced or not, when its JSON is
 * one Edge refuses for any route (a key twice, keys differing only in letter case: json-body.ts). GET and DELETE
 * are MCP with an MCP header; the rest is left to the surface's unknown-route rule.
 *
 * Client name rule: a remote MCP server is named by its host (`mcp.example.com`), so its tools are governed
 * as `mcp.example.com-toolName` and a key enables it with `mcp_client_name: "mcp.example.com"`. (The stdio
 * wrapper names its server with `--name`.)
 *
 * Refusals answer in JSON-RPC: a request gets an error response with its own id (HTTP 200, so MCP SDKs
 * raise their protocol error with Edge's message rather than a transport failure); input with no request
 * to answer gets the HTTP status and an error with a null id.
 */

interface McpRouteMatch extends RouteMatch {
  /** The MCP client name the request's tools belong to. */
  mcpClient: string;
  /** True when MCP's headers say so; else the body decides whether the POST is MCP (see above). */
  announced: boolean;
}

function isMcpRoute(route: RouteMatch): route is McpRouteMatch {
  return typeof (route as Partial<McpRouteMatch>).mcpClient === 'string';
}

/** The name a remote MCP server's tools are governed under: its host, lower-cased, without port. */
export function mcpClientForHost(host: string): string {
  return normalizeHost(host);
}

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return undefined;
  const announced = hasMcpHeader(req.headers) || acceptsJsonAndEventStream(req.headers);
  const mcpClient = mcpClientForHost(req.host);
  const route = (operation: string, inspected: boolean, stream: boolean): McpRouteMatch => ({ ...location, operation, inspected, stream, mcpClient, announced });
  switch (location.method) {
    case 'POST': return announced || mayBeJson(req.headers) ? route('jsonrpc', true, readsOnlyEventStream(header(req.headers['accept']))) : undefined;
    case 'GET': return hasMcpHeader(req.headers) ? route('listen', false, true) : undefined;
    case 'DELETE': return hasMcpHeader(req.headers) ? route('session.end', false, false) : undefined;
    default: return undefined;
  }
}

function hasMcpHeader(headers: HttpRequestInfo['headers']): boolean {
  return header(headers['mcp-protocol-version']) !== undefined || header(headers['mcp-session-id']) !== undefined;
}

/** What an MCP client's first POST (initialize, before any MCP header exists) sends. */
function acceptsJsonAndEventStream(headers: HttpRequestInfo['headers']): boolean {
  const accept = (header(headers['accept']) ?? '').toLowerCase();
  return accept.includes('application/json') && accept.includes(SSE_CONTENT_TYPE);
}

/**
 * A body an MCP server could read as JSON-RPC: no Content-Type, or one naming JSON. Wider than what the
 * SDKs accept (the TypeScript SDK's test is `includes("application/json")`, Python's a parameter equal to
 * it), so no value one of them reads slips by.
 */
function mayBeJson(headers: HttpRequestInfo['headers']): boolean {
  const type = header(headers['content-type']);
  return type === undefined || type.trim() === '' || type.toLowerCase().includes('json');
}

/** The members that make a JSON object a JSON-RPC message, folded as foldKey folds them. */
const JSON_RPC_MEMBERS: ReadonlySet<string> = new Set(['jsonrpc', 'method']);

/**
 * Whether a JSON body holds something an MCP server would act on: a message, or a batch with one, naming
 * `jsonrpc` or `method`. Lax on purpose: such a body is read as MCP, and refused if it is not valid JSON-RPC.
 * Keys are compared as Go compares them (json-key-folding.ts): a Go server reads `METHOD` as `method`.
 */
function holdsJsonRpc(body: unknown): boolean {
  const looksLikeMessage = (value: unknown) => isJsonObject(value) && Object.keys(value).some((key) => JSON_RPC_MEMBERS.has(foldKey(key)));
  return Array.isArray(body) ? body.some(looksLikeMessage) : looksLikeMessage(body);
}

/** A client that cannot read a JSON answer gets its refusal as an SSE `message` event. */
function readsOnlyEventStream(accept: string | undefined): boolean {
  const value = (accept ?? '').toLowerCase();
  return value.includes(SSE_CONTENT_TYPE) && !value.includes('application/json');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as JSON, refused as parseJsonBody refuses it (not JSON, a key twice, keys differing only in letter case).
 * A POST MCP's headers do not announce whose body an MCP server would not read as JSON-RPC (empty, not JSON, or
 * JSON without a message) is the host's other traffic, whatever parseJsonBody thought of it: it reads as
 * `undefined`, which `parse` passes on unread. Whether it holds a message is decided on the body as a server's
 * parser reads it (`asServerReadsIt`), apart from Edge's own checks, so a message that fails them is refused, never
 * taken for other traffic. A body that is not UTF-8 is still refused: a server may read it as UTF-16 JSON (Python's
 * `json.loads` does).
 */
function readBody(route: RouteMatch, raw: Uint8Array | undefined, entry: SurfaceEntry): BodyReadResult {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
  const json = parseJsonBody(raw, { method: route.method, pathname: route.pathname, provider: entry.provider, model: route.pathModel });
  if (json.ok) return { ok: true, value: json.value, encode };
  const announced = !isMcpRoute(route) || route.announced;
  if (announced || !isUtf8(raw)) return json;
  return holdsJsonRpc(asServerReadsIt(raw)) ? json : { ok: true, value: undefined, encode };
}

/**
 * The value an MCP server's JSON parser reads from a UTF-8 body, or undefined when it reads none: plain JSON (the
 * last of two equal keys kept, as JSON.parse does), or, for Python servers, JSON with NaN and Infinity (a tools/call
 * with `"n": NaN` is a message to them).
 */
function asServerReadsIt(raw: Uint8Array | undefined): unknown {
  if (raw === undefined) return undefined;
  const text = withoutByteOrderMark(utf8.decode(raw));
  const asPythonReadsIt = parsePythonJson(text);
  if (asPythonReadsIt !== undefined) return asPythonReadsIt;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isUtf8(raw: Uint8Array | undefined): boolean {
  try {
    if (raw !== undefined) utf8.decode(raw);
    return true;
  } catch {
    return false;
  }
}

function parse(route: RouteMatch, body: unknown, entry: SurfaceEntry): ReturnType<ProviderAdapter['parse']> {
  const client = isMcpRoute(route) ? route.mcpClient : entry.label;
  if (!route.inspected) return { ok: true, request: uninspected(route) };
  if (isMcpRoute(route) && !route.announced && !holdsJsonRpc(body)) return { ok: true, request: notMcp(entry) };
  return parseGuarded(route, entry, body, () => normalizeMcpBody(body, client, { stream: route.stream ?? false }));
}

/**
 * A JSON POST on the host that is not MCP: the host's own provider (app-governed, so the app catalog
 * decides it, as for any request to the host), no MCP adapter (no tool checks, no tool-list filter), and
 * its body forwarded as it came.
 */
function notMcp(entry: SurfaceEntry): NormalizedRequest {
  return { provider: entry.provider, adapter: 'none', operation: 'other', model: null, stream: false, texts: [], tools: [], inspected: false };
}

/** GET (the server's stream) and DELETE (end of session): policy decides them on the key alone. */
function uninspected(route: RouteMatch): NormalizedRequest {
  return { provider: 'mcp', adapter: 'mcp', operation: route.operation, model: null, stream: route.stream ?? false, texts: [], tools: [], inspected: false };
}

function errorResponse(err: Parameters<ProviderAdapter['errorResponse']>[0], opts: Parameters<ProviderAdapter['errorResponse']>[1]): ErrorResponse {
  // Header values cannot hold control characters; a type is a short identifier anyway.
  const headers: Record<string, string> = { [EDGE_BLOCKED_HEADER]: err.type.replace(/[^\w.-]/g, '_').slice(0, 100) || 'error' };
  const answer = refusalFor(opts.requestBody, err);
  if (answer === undefined) {
    return { status: err.status, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(jsonRpcErrorResponse(null, err)) };
  }
  if (!opts.stream) return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(answer) };
  // One `message` event per response, the framing Streamable HTTP servers use.
  const events = (Array.isArray(answer) ? answer : [answer]).map((response) => `event: message\ndata: ${JSON.stringify(response)}\n\n`);
  return { status: 200, headers: { ...headers, 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache' }, body: events.join('') };
}


export const mcpAdapter: ProviderAdapter = { id: 'mcp', recognize, readBody, parse, errorResponse };

import type { ProviderAdapter, RouteMatch } from './adapter.js';
import { parseGuarded } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { EDGE_BLOCKED_HEADER } from './error-response.js';
import { normalizeHost } from './host-pattern.js';
import { jsonRpcErrorResponse, refusalFor } from './mcp-jsonrpc.js';
import { normalizeMcpBody } from './mcp-messages.js';
import { locateRequest } from './route-path.js';
import { SSE_CONTENT_TYPE } from './sse.js';
import type { ErrorResponse, HttpRequestInfo, NormalizedRequest } from './types.js';
import { header } from '../util/header.js';

/**
 * MCP over Streamable HTTP (spec 2025-03-26 and later) on an intercepted host: JSON-RPC 2.0 POSTed to the
 * server's endpoint, answered with JSON or an SSE stream; GET opens the server's own stream, DELETE ends a
 * session.
 *
 * Recognition is by what only MCP clients send, since an MCP endpoint can sit at any path of any host:
 * the `Mcp-Protocol-Version` or `Mcp-Session-Id` header, or a JSON POST that accepts both JSON and SSE
 * (the initialize request, before either header exists). Other requests on the host are not MCP and are
 * left to the surface's unknown-route rule.
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
  if (location === undefined || !speaksMcp(req.headers, location.method)) return undefined;
  const mcpClient = mcpClientForHost(req.host);
  const route = (operation: string, inspected: boolean, stream: boolean): McpRouteMatch => ({ ...location, operation, inspected, stream, mcpClient });
  switch (location.method) {
    case 'POST': return route('jsonrpc', true, readsOnlyEventStream(header(req.headers['accept'])));
    case 'GET': return route('listen', false, true);
    case 'DELETE': return route('session.end', false, false);
    default: return undefined;
  }
}

function speaksMcp(headers: HttpRequestInfo['headers'], method: string): boolean {
  if (header(headers['mcp-protocol-version']) !== undefined || header(headers['mcp-session-id']) !== undefined) return true;
  const accept = (header(headers['accept']) ?? '').toLowerCase();
  const json = /^application\/json\b/i.test((header(headers['content-type']) ?? '').trim());
  return method === 'POST' && json && accept.includes('application/json') && accept.includes(SSE_CONTENT_TYPE);
}

/** A client that cannot read a JSON answer gets its refusal as an SSE `message` event. */
function readsOnlyEventStream(accept: string | undefined): boolean {
  const value = (accept ?? '').toLowerCase();
  return value.includes(SSE_CONTENT_TYPE) && !value.includes('application/json');
}

function parse(route: RouteMatch, body: unknown, entry: SurfaceEntry): ReturnType<ProviderAdapter['parse']> {
  const client = isMcpRoute(route) ? route.mcpClient : entry.label;
  if (!route.inspected) return { ok: true, request: uninspected(route) };
  return parseGuarded(route, entry, body, () => normalizeMcpBody(body, client, { stream: route.stream ?? false }));
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


export const mcpAdapter: ProviderAdapter = { id: 'mcp', recognize, parse, errorResponse };

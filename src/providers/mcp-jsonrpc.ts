import type { EdgeError } from '../edge-error.js';

/**
 * JSON-RPC 2.0 as MCP uses it (Streamable HTTP and stdio alike): the message shapes Edge reads, and the
 * error responses Edge writes when it refuses a request. Shared by the HTTP adapter and the stdio wrapper,
 * so a refusal reads the same whichever way the MCP client reached its server.
 */

export type JsonRpcId = string | number;

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data: { type: string; status: number; source: 'bifrost-edge' };
}

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  /** Null only when the request's id could not be read (JSON-RPC 2.0 §5). */
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

/** JSON-RPC's own codes, and the one Edge uses for a refusal by policy or guardrail. */
export const JSON_RPC_PARSE_ERROR = -32700;
export const JSON_RPC_INVALID_REQUEST = -32600;
export const JSON_RPC_INTERNAL_ERROR = -32603;
/**
 * In the range JSON-RPC leaves to servers, and clear of the codes the MCP SDKs assign (-32000 connection
 * closed, -32001 request timeout, -32042 URL elicitation). The Bifrost error type travels in `data.type`.
 */
export const EDGE_REFUSED = -32003;

function codeFor(err: EdgeError): number {
  if (err.status === 400 || err.status === 413) return JSON_RPC_INVALID_REQUEST;
  if (err.status >= 500) return JSON_RPC_INTERNAL_ERROR;
  return EDGE_REFUSED;
}

/** The `error` member for an Edge refusal: the human message as JSON-RPC's message, so clients show it. */
export function jsonRpcErrorObject(err: EdgeError): JsonRpcErrorObject {
  return { code: codeFor(err), message: err.message, data: { type: err.type, status: err.status, source: 'bifrost-edge' } };
}

export function jsonRpcErrorResponse(id: JsonRpcId | null, err: EdgeError): JsonRpcErrorResponse {
  return { jsonrpc: '2.0', id, error: jsonRpcErrorObject(err) };
}

/** The answer to input that is not JSON at all: JSON-RPC's parse error, with a null id (none could be read). */
export function jsonRpcParseError(message: string): JsonRpcErrorResponse {
  return { jsonrpc: '2.0', id: null, error: { code: JSON_RPC_PARSE_ERROR, message, data: { type: 'invalid_request', status: 400, source: 'bifrost-edge' } } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A request expects an answer: it has a method and an id (notifications have no id). */
export function isJsonRpcRequest(value: unknown): value is { jsonrpc: '2.0'; id: JsonRpcId; method: string; params?: unknown } {
  return isObject(value) && typeof value['method'] === 'string' && isJsonRpcId(value['id']);
}

/** A response (result or error) to an earlier request; it has no method. */
export function isJsonRpcResponse(value: unknown): value is { jsonrpc: '2.0'; id: JsonRpcId | null; result?: unknown; error?: unknown } {
  return isObject(value) && value['method'] === undefined && ('result' in value || 'error' in value);
}

export function isJsonRpcId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** Ids of the requests in a message or batch, in order: what a refusal must answer. */
export function requestIds(body: unknown): JsonRpcId[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter(isJsonRpcRequest).map((message) => message.id);
}

/**
 * One error response per request in `body` (a batch is answered with an array, JSON-RPC 2.0 §6), or
 * undefined when `body` holds no request to answer (notifications, responses, unreadable input).
 */
export function refusalFor(body: unknown, err: EdgeError): JsonRpcErrorResponse | JsonRpcErrorResponse[] | undefined {
  const ids = requestIds(body);
  if (ids.length === 0) return undefined;
  const responses = ids.map((id) => jsonRpcErrorResponse(id, err));
  return Array.isArray(body) ? responses : responses[0];
}

import type { EdgeError } from '../edge-error.js';
import { encodeEnvelope, ENVELOPE_END_STREAM } from './connect-envelope.js';
import { EDGE_BLOCKED_HEADER } from './error-response.js';
import type { ErrorResponse } from './types.js';

/**
 * Edge refusals in the Connect protocol's error model (connectrpc.com/docs/protocol, "Error Codes" and
 * "Error and EndStreamResponse"), so Connect clients (Cursor is built on connect-es) show Edge's message:
 * - unary: a non-200 status matching the code, `application/json`, body `{"code": …, "message": …}`;
 * - streaming: HTTP 200 and a single envelope flagged end-of-stream (0x02) whose JSON is
 *   `{"error": {"code": …, "message": …}}`, since streaming responses always answer 200.
 */

export type ConnectCode =
  | 'canceled' | 'unknown' | 'invalid_argument' | 'deadline_exceeded' | 'not_found' | 'already_exists'
  | 'permission_denied' | 'resource_exhausted' | 'failed_precondition' | 'aborted' | 'out_of_range'
  | 'unimplemented' | 'internal' | 'unavailable' | 'data_loss' | 'unauthenticated';

/** The HTTP status each code travels with on a unary response (the protocol's table). */
export const CONNECT_CODE_STATUS: Readonly<Record<ConnectCode, number>> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/**
 * The Connect code for an Edge status. Guardrail blocks (446) are refusals, so permission_denied; a spent
 * budget (402) and a body too large to inspect (413) are exhausted resources; an encoding Edge cannot read
 * (415) is what the protocol answers with unimplemented; every 5xx is unavailable (Edge or the origin may
 * recover, so clients may retry).
 */
export function connectCodeFor(status: number): ConnectCode {
  switch (status) {
    case 400:
    case 421:
    case 422: return 'invalid_argument';
    case 401: return 'unauthenticated';
    case 402:
    case 413:
    case 429: return 'resource_exhausted';
    case 403:
    case 446: return 'permission_denied';
    // Edge's 404 refuses a route outside its allowlist, the protocol's own example for not_found.
    case 404: return 'not_found';
    case 415: return 'unimplemented';
    case 408: return 'deadline_exceeded';
    case 409: return 'aborted';
    case 499: return 'canceled';
    default:
      if (status >= 500) return 'unavailable';
      if (status >= 400) return 'failed_precondition';
      return 'unknown';
  }
}

export interface ConnectErrorBody {
  code: ConnectCode;
  message: string;
}

export function connectErrorBody(err: EdgeError): ConnectErrorBody {
  return { code: connectCodeFor(err.status), message: err.message };
}

/**
 * A unary error answers with the code's own HTTP status (the protocol says the two should match, so a 446
 * guardrail block is a 403 on the wire; the audit record keeps 446).
 */
export function connectUnaryErrorResponse(err: EdgeError): ErrorResponse {
  const body = connectErrorBody(err);
  return { status: CONNECT_CODE_STATUS[body.code], headers: { 'content-type': 'application/json', ...blockedHeader(err) }, body: JSON.stringify(body) };
}

/** A streaming error: 200 and one end-of-stream envelope, in the request's streaming content type. */
export function connectStreamErrorResponse(err: EdgeError, contentType = 'application/connect+proto'): ErrorResponse {
  const endStream = Buffer.from(JSON.stringify({ error: connectErrorBody(err) }), 'utf8');
  return { status: 200, headers: { 'content-type': contentType, ...blockedHeader(err) }, body: encodeEnvelope(ENVELOPE_END_STREAM, endStream) };
}

/** Header values cannot hold control characters; a type is a short identifier anyway. */
function blockedHeader(err: EdgeError): Record<string, string> {
  return { [EDGE_BLOCKED_HEADER]: err.type.replace(/[^\w.-]/g, '_').slice(0, 100) || 'error' };
}

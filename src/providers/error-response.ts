import type { EdgeError } from '../edge-error.js';
import { SSE_CONTENT_TYPE, sseData, sseNamedEvent } from './sse.js';
import type { ErrorResponse } from './types.js';

/** How a provider family frames an error event inside a stream. */
export type SseErrorDialect =
  /** `data: {...}` (OpenAI-compatible, Gemini, ChatGPT web). */
  | { kind: 'data' }
  /** `event: error` + `data: {...}` (Anthropic, Claude web). */
  | { kind: 'named'; event: string };

/** Header every Edge-made error carries, so the proxy, logs and tests can tell it from an upstream error. */
export const EDGE_BLOCKED_HEADER = 'x-bifrost-edge-blocked';

/** Wraps a provider-format error body as an HTTP response: JSON, or one SSE error event when streaming. */
export function errorResponse(err: EdgeError, body: unknown, dialect: SseErrorDialect, opts: { stream: boolean }): ErrorResponse {
  const headers: Record<string, string> = {
    'content-type': opts.stream ? SSE_CONTENT_TYPE : 'application/json',
    [EDGE_BLOCKED_HEADER]: headerSafe(err.type),
  };
  if (opts.stream) headers['cache-control'] = 'no-cache';
  // The OpenAI and Anthropic SDKs retry 408/409/429/5xx unless told otherwise; a refusal made by policy
  // gives the same answer on every retry, so only server-side failures stay retryable.
  if (err.status < 500) headers['x-should-retry'] = 'false';
  const text = !opts.stream ? JSON.stringify(body) : dialect.kind === 'named' ? sseNamedEvent(dialect.event, body) : sseData(body);
  return { status: err.status, headers, body: text };
}

/** Header values cannot hold control characters; a type is a short identifier anyway. */
function headerSafe(value: string): string {
  return value.replace(/[^\w.-]/g, '_').slice(0, 100) || 'error';
}

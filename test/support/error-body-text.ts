import type { ErrorResponse } from '../../src/providers/types.js';

/**
 * The body of an error response a test expects as text (JSON or SSE). ErrorResponse.body may also be bytes
 * (a binary framing such as Connect's end-of-stream envelope): bytes here fail the test, saying so, instead of
 * reaching JSON.parse as something else.
 */
export function errorBodyText(response: ErrorResponse): string {
  if (typeof response.body !== 'string') throw new Error(`expected a text error body, got ${response.body.byteLength} bytes`);
  return response.body;
}

import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { expectFailed, expectParsed, req } from './support.js';

/**
 * Deeply nested JSON costs Edge time linear in its size: the parse, the duplicate-key scan, the letter-case walk and
 * the readers that take every string of a value (an unknown item, a tool's schema) do not copy a path per level.
 * Where Edge reads every string, a value nested deeper than it reads (128 levels) is refused with a 400 naming
 * where, never read in part or let through unread. A 120 KB body of 60 000 nested arrays took 29 s before.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const nested = (depth: number, inner: unknown) => `${'['.repeat(depth)}${JSON.stringify(inner)}${']'.repeat(depth)}`;

function parseResponses(text: string) {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/responses', { 'content-type': 'application/json' }), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error('POST /v1/responses not recognised');
  return parseRequest(recognized, text);
}

/** Runs `fn`, and says how long it took. */
function timed<T>(fn: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = fn();
  return { result, ms: performance.now() - start };
}

describe('deeply nested JSON in a Responses body', () => {
  it.each<[string, (inner: string) => string, string]>([
    ['an item type Edge does not know', (inner) => `{"model":"gpt-5","input":[{"type":"zzz_new_item","data":${inner}}]}`, 'input[0].data'],
    ['a function tool\'s parameters', (inner) => `{"model":"gpt-5","input":"hi","tools":[{"type":"function","name":"f","parameters":${inner}}]}`, 'tools[0].parameters'],
  ])('60 000 levels in %s: refused with a 400 naming where, in well under a second', (_name, body, where) => {
    const { result, ms } = timed(() => parseResponses(body(nested(60_000, SECRET))));
    expect(expectFailed(result)).toMatchObject({ status: 400, message: expect.stringContaining(`${where} holds arrays or objects nested more than 128 levels deep`) as string });
    expect(ms).toBeLessThan(1000);
  });

  it('100 levels are read: the string at the bottom is found', () => {
    const request = expectParsed(parseResponses(`{"model":"gpt-5","input":[{"type":"zzz_new_item","data":${nested(100, SECRET)}}]}`));
    expect(request.texts.filter((span) => span.text === SECRET).map((span) => span.path.length)).toEqual([3 + 100]);
  });

  it('60 000 levels where Edge reads nothing (metadata) pass the parse, the duplicate-key scan and the letter-case walk quickly', () => {
    const { result, ms } = timed(() => parseResponses(`{"model":"gpt-5","input":"hi","metadata":{"x":${nested(60_000, 'x')}}}`));
    expect(expectParsed(result).texts.map((span) => span.path.join('.'))).toEqual(['input']);
    expect(ms).toBeLessThan(1000);
  });

  it('a Responses WebSocket response.create nested that deep is refused without being sent', () => {
    const message = `{"type":"response.create","model":"gpt-5","input":[{"type":"zzz_new_item","data":${nested(60_000, SECRET)}}]}`;
    const { result, ms } = timed(() => readClientMessage('openai-responses', Buffer.from(message), false, 1 << 20));
    expect(result).toMatchObject({ kind: 'unreadable', status: 400, message: expect.stringContaining('nested more than 128 levels deep') as string });
    expect(ms).toBeLessThan(1000);
  });
});

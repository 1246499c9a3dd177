import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { arrayElementsCopied } from '../support/array-copies.js';
import { charactersScanned } from '../support/scanned-characters.js';
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

/**
 * Runs `fn`, and counts its work: the characters it scans and the array elements it copies (a path copied per
 * level is quadratic in depth). Counted, not timed: the machine is shared, speed is `npm run bench`'s business.
 */
function counted<T>(fn: () => T): { result: T; work: number } {
  let result: T | undefined;
  let copied = 0;
  const scanned = charactersScanned(() => {
    copied = arrayElementsCopied(() => {
      result = fn();
    });
  });
  return { result: result as T, work: scanned + copied };
}

/** Runs `run` at 15 000 and at 60 000 levels: linear work grows at most fourfold, quadratic sixteenfold. */
function workAtDepths<T>(run: (depth: number) => T): { result: T; growth: number } {
  const shallow = counted(() => run(15_000));
  const deep = counted(() => run(60_000));
  return { result: deep.result, growth: deep.work / shallow.work };
}

describe('deeply nested JSON in a Responses body', () => {
  it.each<[string, (inner: string) => string, string]>([
    ['an item type Edge does not know', (inner) => `{"model":"gpt-5","input":[{"type":"zzz_new_item","data":${inner}}]}`, 'input[0].data'],
    ['a function tool\'s parameters', (inner) => `{"model":"gpt-5","input":"hi","tools":[{"type":"function","name":"f","parameters":${inner}}]}`, 'tools[0].parameters'],
  ])('60 000 levels in %s: refused with a 400 naming where, the work linear in the depth', (_name, body, where) => {
    const { result, growth } = workAtDepths((depth) => parseResponses(body(nested(depth, SECRET))));
    expect(expectFailed(result)).toMatchObject({ status: 400, message: expect.stringContaining(`${where} holds arrays or objects nested more than 128 levels deep`) as string });
    expect(growth).toBeLessThanOrEqual(4);
  });

  it('100 levels are read: the string at the bottom is found', () => {
    const request = expectParsed(parseResponses(`{"model":"gpt-5","input":[{"type":"zzz_new_item","data":${nested(100, SECRET)}}]}`));
    expect(request.texts.filter((span) => span.text === SECRET).map((span) => span.path.length)).toEqual([3 + 100]);
  });

  it('60 000 levels where Edge reads nothing (metadata) pass the parse, the duplicate-key scan and the letter-case walk in linear work', () => {
    const { result, growth } = workAtDepths((depth) => parseResponses(`{"model":"gpt-5","input":"hi","metadata":{"x":${nested(depth, 'x')}}}`));
    expect(expectParsed(result).texts.map((span) => span.path.join('.'))).toEqual(['input']);
    expect(growth).toBeLessThanOrEqual(4);
  });

  it('a Responses WebSocket response.create nested that deep is refused without being sent', () => {
    const message = (depth: number) => `{"type":"response.create","model":"gpt-5","input":[{"type":"zzz_new_item","data":${nested(depth, SECRET)}}]}`;
    const { result, growth } = workAtDepths((depth) => readClientMessage('openai-responses', Buffer.from(message(depth)), false, 1 << 20));
    expect(result).toMatchObject({ kind: 'unreadable', status: 400, message: expect.stringContaining('nested more than 128 levels deep') as string });
    expect(growth).toBeLessThanOrEqual(4);
  });
});

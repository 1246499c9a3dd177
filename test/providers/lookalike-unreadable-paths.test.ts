import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type UnknownRoutePolicy } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import { isRefused } from '../../src/providers/route-lookalike.js';
import type { ParseResult } from '../../src/providers/types.js';
import { MAX_DECODING_PASSES, pathDecoding } from '../../src/providers/route-path.js';
import { expectFailed, req } from './support.js';

/**
 * Paths no list of lenient readings covers: a control or non-ASCII byte once escapes are decoded (overlong UTF-8 dots
 * `%C0%AE`, a byte dropped beside another read as `/`, fullwidth letters NFKC folds to ASCII), an escaped `?` or `#` that
 * ends the path for an origin decoding before it routes, escapes nested deeper than Edge decodes. Sent with a body under
 * the API, each is refused (400) in the adapter's error shape, whatever route its exact spelling would be; the
 * documented routes SDKs call pass as before.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const ANTHROPIC = 'api.anthropic.com';
const COPILOT = 'api.githubcopilot.com';
const GEMINI = 'generativelanguage.googleapis.com';
const OPENAI = 'api.openai.com';
const AI_SERVICES = 'res.cognitiveservices.azure.com';

const BODY = JSON.stringify({
  model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], contents: [{ parts: [{ text: 'hi' }] }], prompt: 'a cat',
});

type Handled = { unrecognized: UnknownRoutePolicy } | { found: RecognizedRequest; result: ParseResult };

/** What recognizeRequest and parseRequest make of the request, as the proxy would run them. */
function handle(host: string, path: string, method = 'POST'): Handled {
  const found = recognizeRequest(req(method, host, path, { 'content-type': 'application/json' }), catalog);
  if (found === undefined) throw new Error(`${host} is not an AI surface`);
  if ('unrecognized' in found) return { unrecognized: found.action };
  return { found, result: parseRequest(found, BODY) };
}

/** The refusal Edge answers with, its adapter, and the body its clients read; fails when the request would go out. */
function refusal(host: string, path: string, method = 'POST') {
  const outcome = handle(host, path, method);
  if (!('found' in outcome)) throw new Error(`${method} ${host}${path} is unrecognised (${outcome.unrecognized}), not refused`);
  const error = expectFailed(outcome.result);
  const response = outcome.found.adapter.errorResponse(error, { stream: false });
  return { error, adapter: outcome.found.adapter.id, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

describe('a path holding a control or non-ASCII byte, sent with a body under the API', () => {
  it.each([
    // Overlong UTF-8 dots: `..` to an origin that reads them, so the Files API path leads to the Messages route.
    [ANTHROPIC, '/v1/files/%C0%AE%C0%AE/messages', 'anthropic'],
    [ANTHROPIC, '/v1/files/%E0%80%AE%E0%80%AE/messages', 'anthropic'],
    // One byte dropped and another read as `/`: `/v1/messages/count_tokens`.
    [ANTHROPIC, '/v1/messages%C0%AFcount%00_tokens', 'anthropic'],
    [COPILOT, '/v1/messages%C0%AFcount%00_tokens', 'openai-compatible'],
    // Fullwidth `ｍ`, which NFKC folds to `m`.
    [COPILOT, '/v1/%uFF4Dessages', 'openai-compatible'],
    [COPILOT, '/v1/files/%C0%AE%C0%AE/messages', 'openai-compatible'],
    // On Copilot the host's own adapter refuses it before Anthropic's look-alike check names `messages`, as it does a
    // dot segment in disguise: both are refused whatever route they lead to.
    [COPILOT, '/v1/messages%C0%AF', 'openai-compatible'],
    [GEMINI, '/v1beta/files/%C0%AE%C0%AE/models/gemini-2.5-flash:generateContent', 'gemini'],
    [GEMINI, '/v1beta/files/%E0%80%AE%E0%80%AE/cachedContents', 'gemini'],
    [OPENAI, '/v1/images/%C0%AE%C0%AE/chat/completions', 'openai-compatible'],
    [OPENAI, '/v1/files/%EF%BD%8D', 'openai-compatible'],
  ])('%s%s is refused (400) by %s, not forwarded unread', (host, path, adapterId) => {
    const { error, adapter } = refusal(host, path);
    expect(adapter).toBe(adapterId);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toContain('control or non-ASCII byte');
  });

  it('the refusal is in the adapter\'s own error shape', () => {
    expect(refusal(ANTHROPIC, '/v1/files/%C0%AE%C0%AE/messages').body).toMatchObject({ type: 'error', error: { type: 'invalid_request' } });
    expect(refusal(GEMINI, '/v1beta/files/%C0%AE%C0%AE/models/m:generateContent').body)
      .toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });

  it('reading such a path (no body) follows the route as before', () => {
    expect(handle(ANTHROPIC, '/v1/files/%C0%AE%C0%AE/messages', 'GET')).toMatchObject({ found: { route: { operation: 'files', inspected: false } } });
    expect(handle(OPENAI, '/v1/images/%C0%AE%C0%AE/chat/completions', 'GET')).toMatchObject({ found: { route: { operation: 'images', inspected: false } } });
  });
});

describe('an escaped `?` or `#`, which ends the path for an origin that decodes before routing', () => {
  it.each([
    [OPENAI, '/v1/images/generations%3Fx'],
    [OPENAI, '/v1/images/generations%253F'],
    [OPENAI, '/v1/images/generations%23'],
    [OPENAI, '/v1/images/generations%2523x'],
    // Copilot lets unknown routes through: these went out unread, while an origin decoding first reads a read route.
    [COPILOT, '/v1/messages%3Fbeta=true'],
    [COPILOT, '/chat/completions%253F'],
    [GEMINI, '/v1beta/cachedContents%23x'],
  ])('%s%s is refused (400), not forwarded unread under its root', (host, path) => {
    const { error } = refusal(host, path);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toContain('escaped `?` or `#`');
  });
});

describe('a leading blank in a segment, which origins that trim segments drop', () => {
  it.each([
    [ANTHROPIC, '/v1/%20messages', 'anthropic', 'messages'],
    [COPILOT, '/v1/%20messages', 'anthropic', 'messages'],
    [COPILOT, '/%20messages', 'anthropic', 'messages'],
    [OPENAI, '/v1/images/%20generations', 'openai-compatible', 'images/generations'],
  ])('%s%s is refused by %s as a look-alike of `%s`', (host, path, adapterId, route) => {
    const { error, adapter } = refusal(host, path);
    expect(adapter).toBe(adapterId);
    expect(error.status).toBe(400);
    expect(error.message).toContain(`\`${route}\``);
  });
});

describe('escapes nested deeper than Edge decodes', () => {
  const nested = (levels: number) => `/v1/messages%${'25'.repeat(levels)}41`;

  it(`decoding stops after ${MAX_DECODING_PASSES} passes, each peeling one level, and says it did not settle`, () => {
    // 8,000 levels took a pass each, the whole path every time: ~180 ms a request.
    expect(pathDecoding(nested(8000))).toEqual({ decoded: nested(8000 - MAX_DECODING_PASSES), settled: false });
  });

  it('a path an origin decodes at most twice settles', () => {
    expect(pathDecoding('/v1/messages%252F%2541')).toEqual({ decoded: '/v1/messages/A', settled: true });
    expect(pathDecoding('/v1/messages')).toEqual({ decoded: '/v1/messages', settled: true });
  });

  it.each([ANTHROPIC, COPILOT, OPENAI])('on %s, a bodied request whose path has not settled is refused (400)', (host) => {
    const { error } = refusal(host, nested(8000));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toContain(`nested deeper than ${MAX_DECODING_PASSES} levels`);
  });

  it('on a host whose other paths pass, an unsettled path outside the API is taken as reaching the API', () => {
    expect(refusal(AI_SERVICES, `/language/x%${'25'.repeat(5)}41`)).toMatchObject({ error: { status: 400 } });
    expect(handle(AI_SERVICES, '/language/x%252541')).toEqual({ unrecognized: 'pass' });
  });
});

describe('the routes SDKs call pass as before', () => {
  it.each([
    ['POST', ANTHROPIC, '/v1/messages?beta=true', true],
    ['POST', ANTHROPIC, '/v1/messages/count_tokens?beta=true', true],
    ['POST', ANTHROPIC, '/v1/messages/batches?beta=true', true],
    ['GET', ANTHROPIC, '/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results', false],
    ['POST', ANTHROPIC, '/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/cancel?beta=true', false],
    ['POST', ANTHROPIC, '/v1/files?beta=true', false],
    ['GET', ANTHROPIC, '/v1/files/file_011CNha8iCJcU1wXNR6q4V8w/content?beta=true', false],
    ['GET', ANTHROPIC, '/v1/models/claude-sonnet-4-5?beta=true', false],
    ['POST', GEMINI, '/v1beta/models/gemini-2.5-flash:countTokens', true],
    ['POST', GEMINI, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', true],
    ['POST', GEMINI, '/v1beta/models/gemini-2.5-flash%3AgenerateContent', true],
    ['POST', GEMINI, '/v1beta/tunedModels/my-model-abc123:generateContent', true],
    ['POST', GEMINI, '/v1beta/cachedContents', true],
    ['PATCH', GEMINI, '/v1beta/cachedContents/abc123?updateMask=ttl', false],
    ['POST', GEMINI, '/v1beta/tunedModels', false],
    ['POST', GEMINI, '/upload/v1beta/files', false],
    ['PUT', GEMINI, '/upload/v1beta/files?upload_id=ABCdef-_123&upload_protocol=resumable', false],
    ['POST', COPILOT, '/chat/completions', true],
    ['POST', COPILOT, '/v1/chat/completions', true],
    ['POST', COPILOT, '/responses', true],
    ['POST', COPILOT, '/v1/messages', true],
    ['POST', OPENAI, '/v1/images/generations', true],
    ['POST', OPENAI, '/v1/files/file-abc.v2.txt', false],
  ])('%s %s%s (read: %s)', (method, host, path, inspected) => {
    const outcome = handle(host, path, method);
    if (!('found' in outcome)) throw new Error(`${method} ${host}${path} is unrecognised (${outcome.unrecognized})`);
    expect(isRefused(outcome.found.route)).toBe(false);
    expect(outcome.found.route.inspected).toBe(inspected);
  });
});

import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry, type UnknownRoutePolicy } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { expectFailed, expectParsed, req } from './support.js';

/**
 * The Anthropic and Gemini adapters refuse look-alikes of the routes whose body they read, as the OpenAI-compatible
 * one does (route-lookalike.ts): a spelling a lenient origin or a gateway in front of it answers as `/v1/messages` or
 * `models/{m}:generateContent` (letter case, `;parameters`, trailing blanks or dots, `..;` segments, control or
 * non-ASCII bytes) would otherwise be forwarded unread, as another route or as an unknown route on a host that lets
 * those through (Copilot serves Anthropic's shape). Each is a 400 in the adapter's own error shape.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const ANTHROPIC = 'api.anthropic.com';
const COPILOT = 'api.githubcopilot.com';
const GEMINI = 'generativelanguage.googleapis.com';

const BODY = JSON.stringify({
  model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], contents: [{ parts: [{ text: 'hi' }] }],
});

type Handled = { unrecognized: UnknownRoutePolicy } | { found: RecognizedRequest; result: ParseResult };

/** What Edge does with the request: recognises it and reads its body, as the proxy would. */
function handled(host: string, path: string, method = 'POST', catalogToUse = catalog): Handled {
  const found = recognizeRequest(req(method, host, path, { 'content-type': 'application/json' }), catalogToUse);
  if (found === undefined) throw new Error(`${host} is not an AI surface`);
  if ('unrecognized' in found) return { unrecognized: found.action };
  return { found, result: parseRequest(found, BODY) };
}

/** The 400 Edge answers a look-alike with, and the answer's body as the adapter's clients read it. */
function refusal(host: string, path: string, method = 'POST', catalogToUse = catalog) {
  const outcome = handled(host, path, method, catalogToUse);
  if (!('found' in outcome)) throw new Error(`${method} ${host}${path} is unrecognised (${outcome.unrecognized}), not refused as a look-alike`);
  const error = expectFailed(outcome.result);
  const response = outcome.found.adapter.errorResponse(error, { stream: false });
  return { error, adapter: outcome.found.adapter.id, status: response.status, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

describe('Anthropic: a look-alike of a route Edge reads', () => {
  it.each([
    [ANTHROPIC, '/v1/Messages', 'messages'],
    [ANTHROPIC, '/v1/messages;x', 'messages'],
    [ANTHROPIC, '/v1/messages%20', 'messages'],
    [ANTHROPIC, '/v1/messages.', 'messages'],
    [ANTHROPIC, '/v1/messages%0A', 'messages'],
    [ANTHROPIC, '/v1/messages/Count_Tokens', 'messages/count_tokens'],
    [ANTHROPIC, '/v1/messages/Batches', 'messages/batches'],
    // Forwarded unread before, under the Files API and the batch routes.
    [ANTHROPIC, '/v1/files/..;/messages', 'messages'],
    [ANTHROPIC, '/v1/messages/batches/..;/count_tokens', 'messages/count_tokens'],
    [ANTHROPIC, '/v1/models/x/..%20/..%20/messages', 'messages'],
    // Copilot serves Anthropic's shape on a host whose unknown routes pass: these passed unread.
    [COPILOT, '/v1/Messages', 'messages'],
    [COPILOT, '/v1/messages;x', 'messages'],
    [COPILOT, '/messages.', 'messages'],
  ])('%s%s is refused with a 400 naming `%s`, in Anthropic\'s error shape', (host, path, route) => {
    const { error, adapter, status, body } = refusal(host, path);
    expect(adapter).toBe('anthropic');
    expect(status).toBe(400);
    expect(error.message).toContain(`\`${route}\``);
    expect(body).toEqual({ type: 'error', error: { type: 'invalid_request', message: error.message } });
  });

  it.each([
    [ANTHROPIC, '/v1/messages', true],
    [ANTHROPIC, '/v1/messages/', true],
    [ANTHROPIC, '/v1/messages/count_tokens', true],
    [ANTHROPIC, '/v1/messages/batches', true],
    [ANTHROPIC, '/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/cancel', false],
    [ANTHROPIC, '/v1/files', false],
    [COPILOT, '/v1/messages', true],
  ])('the documented spelling is forwarded as before: %s%s (read: %s)', (host, path, inspected) => {
    const outcome = handled(host, path);
    if (!('found' in outcome)) throw new Error('unrecognised');
    expect(outcome.found.route).toMatchObject({ inspected });
    expect('refusal' in outcome.found.route).toBe(false);
  });

  it('a read of a look-alike (GET /v1/Messages) is left to the host\'s rule, with no body to read', () => {
    expect(handled(ANTHROPIC, '/v1/Messages', 'GET')).toEqual({ unrecognized: 'reject' });
    expect(handled(ANTHROPIC, '/v1/files/..;/messages', 'GET')).toMatchObject({ found: { route: { operation: 'files', inspected: false } } });
  });

  it('a path Anthropic certainly does not serve as a route Edge reads still follows the host\'s rule', () => {
    expect(handled(ANTHROPIC, '/v1/complete;x')).toEqual({ unrecognized: 'reject' });
    expect(handled(COPILOT, '/v1/agents/Sessions')).toEqual({ unrecognized: 'pass' });
  });

  it('a dot segment in disguise that leads to no route Edge reads is refused too: the service may resolve it anywhere', () => {
    const { status, body } = refusal(ANTHROPIC, '/v1/files/..;/x');
    expect(status).toBe(400);
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request', message: expect.stringContaining('dot segment') } });
  });
});

describe('Gemini: a look-alike of a route Edge reads', () => {
  it.each([
    ['/v1beta/models/gemini-2.5-flash:GenerateContent', 'models/{model}:generateContent'],
    ['/v1beta/models/gemini-2.5-flash:streamGenerateContent;x', 'models/{model}:streamGenerateContent'],
    ['/v1beta/models/gemini-2.5-flash:generateContent.', 'models/{model}:generateContent'],
    ['/v1beta/models/gemini-2.5-flash:countTokens%20', 'models/{model}:countTokens'],
    ['/v1beta/Models/gemini-2.5-flash:generateContent', 'models/{model}:generateContent'],
    ['/v1beta/tunedModels/my-model:generateContent%09', 'tunedModels/{model}:generateContent'],
    ['/v1beta/CachedContents', 'cachedContents'],
    // Forwarded unread before, as the models listing or the Files API.
    ['/v1beta/models/gemini-2.5-flash/..;/gemini-2.5-flash:generateContent', 'models/{model}:generateContent'],
    ['/v1beta/files/..;/models/gemini-2.5-flash:generateContent', 'models/{model}:generateContent'],
    ['/v1beta/files/..;/cachedContents', 'cachedContents'],
  ])('%s is refused with a 400 naming `%s`, in Google\'s error shape', (path, route) => {
    const { error, adapter, status, body } = refusal(GEMINI, path);
    expect(adapter).toBe('gemini');
    expect(status).toBe(400);
    expect(error.message).toContain(`\`${route}\``);
    expect(body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: error.message, details: [{ reason: 'invalid_request' }] } });
  });

  it.each(['gemini-2.5-flash;x', 'gemini-2.5-flash.', 'gemini-2.5-flash%20', 'gemini-2.5-flash%0A'])(
    'a model name a lenient service may read as another (%s) is refused, not judged by policy under that name',
    (model) => {
      const { status, body } = refusal(GEMINI, `/v1beta/models/${model}:generateContent`);
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('model name') } });
    },
  );

  it.each([
    ['/v1beta/models/gemini-2.5-flash:generateContent', true],
    ['/v1beta/models/gemini-2.5-flash:generateContent/', true],
    ['/v1beta/models/gemini-2.5-flash%3AgenerateContent', true],
    ['/v1/tunedModels/my-model-7x2:streamGenerateContent', true],
    ['/v1beta/cachedContents', true],
    ['/v1beta/models', false],
    ['/upload/v1beta/files', false],
    ['/v1beta/tunedModels/my-model:transferOwnership', false],
  ])('the documented spelling is forwarded as before: %s (read: %s)', (path, inspected) => {
    const outcome = handled(GEMINI, path);
    if (!('found' in outcome)) throw new Error('unrecognised');
    expect(outcome.found.route).toMatchObject({ inspected });
    expect(outcome.result.ok).toBe(true);
  });

  it('on a host that lets unknown routes through, a look-alike is refused all the same', () => {
    const passing: SurfaceEntry[] = DEFAULT_SURFACES.map((entry) => (entry.provider === 'gemini' ? { ...entry, unknownRoutes: 'pass' } : entry));
    expect(refusal(GEMINI, '/v1beta/models/gemini-2.5-flash:GenerateContent', 'POST', compileSurfaceCatalog(passing)).status).toBe(400);
    expect(handled(GEMINI, '/v1beta/undocumented', 'POST', compileSurfaceCatalog(passing))).toEqual({ unrecognized: 'pass' });
  });
});

describe('OpenAI-compatible: a dot segment in disguise under the API', () => {
  it.each([
    ['api.openai.com', '/v1/images/..;/chat/completions'],
    ['api.openai.com', '/v1/files/x/..%20/..%20/responses'],
    // Copilot: taken for its OpenAI-shaped `models` listing before, while Anthropic's `/v1/messages` is where it leads.
    [COPILOT, '/v1/models/..;/messages'],
  ])('%s%s is refused, not forwarded unread under its root', (host, path) => {
    const { adapter, status, body } = refusal(host, path);
    expect(adapter).toBe('openai-compatible');
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { type: 'invalid_request', message: expect.stringContaining('dot segment') } });
  });

  it('listing under the same root is not refused (no body to read)', () => {
    expect(handled('api.openai.com', '/v1/images/..;/chat/completions', 'GET')).toMatchObject({ found: { route: { operation: 'images', inspected: false } } });
  });

  it('a path with a dot in a name is not a dot segment', () => {
    const outcome = handled('api.openai.com', '/v1/files/file.v2.txt');
    expect('found' in outcome && expectParsed(outcome.result).inspected).toBe(false);
  });
});

describe('OpenAI-compatible: a read route with control or non-ASCII bytes a lenient origin drops', () => {
  it.each([
    ['api.openai.com', '/v1/images/generations%0A', 'images/generations'],
    ['api.openai.com', '/v1/images/generations%C0%AF', 'images/generations'],
    ['api.openai.com', '/v1/audio/speech%00', 'audio/speech'],
  ])('%s%s is refused, naming `%s`, not forwarded unread under its root', (host, path, route) => {
    const { error, status } = refusal(host, path);
    expect(status).toBe(400);
    expect(error.message).toContain(`\`${route}\``);
  });
});

describe('a route Edge reads sent with another method that has a body', () => {
  it.each([
    [COPILOT, '/v1/messages', 'PUT', 'anthropic'],
    [ANTHROPIC, '/v1/messages/count_tokens', 'PATCH', 'anthropic'],
    [GEMINI, '/v1beta/models/gemini-2.5-flash:generateContent', 'PUT', 'gemini'],
  ])('%s%s by %s is refused (405): an origin may route it to the POST handler', (host, path, method, adapterId) => {
    const { adapter, status, error } = refusal(host, path, method);
    expect(adapter).toBe(adapterId);
    expect(status).toBe(405);
    expect(error.type).toBe('method_not_allowed');
  });
});

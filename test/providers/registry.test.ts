import { describe, expect, it } from 'vitest';
import { edgeError } from '../../src/edge-error.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { errorResponseFor, parseRequest, recognizeRequest, unknownRouteError, type RecognizedRequest } from '../../src/providers/registry.js';
import { errorBodyText } from '../support/error-body-text.js';
import { expectFailed, expectParsed, req } from './support.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function summary(method: string, host: string, path: string): string {
  const result = recognizeRequest(req(method, host, path), catalog);
  if (result === undefined) return 'not-ai';
  if ('unrecognized' in result) return `unrecognized:${result.action}`;
  return `${result.adapter.id}:${result.route.operation}:${result.route.inspected ? 'inspected' : 'uninspected'}`;
}

describe('recognizeRequest', () => {
  it.each([
    ['POST', 'example.com', '/v1/chat/completions', 'not-ai'],
    ['POST', 'api.openai.com', '/v1/chat/completions', 'openai-compatible:chat.completions:inspected'],
    ['GET', 'api.openai.com', '/v1/models', 'openai-compatible:models:uninspected'],
    ['POST', 'api.openai.com', '/v1/undocumented', 'unrecognized:reject'],
    ['GET', 'api.openai.com', '/dashboard', 'unrecognized:reject'],
    ['POST', 'api.openai.com', '/v1/models/../chat/completions', 'unrecognized:reject'],
    ['POST', 'api.anthropic.com', '/v1/messages', 'anthropic:messages:inspected'],
    ['POST', 'api.anthropic.com', '/v1/complete', 'unrecognized:reject'],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'gemini:streamGenerateContent:inspected'],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:unknownMethod', 'unrecognized:reject'],
    ['POST', 'chatgpt.com', '/backend-api/f/conversation', 'chatgpt-web:conversation:inspected'],
    ['POST', 'chatgpt.com', '/backend-anon/conversation', 'chatgpt-web:conversation:inspected'],
    ['POST', 'chatgpt.com', '/backend-anon/f/conversation', 'chatgpt-web:conversation:inspected'],
    ['GET', 'chatgpt.com', '/backend-api/me', 'unrecognized:pass'],
    ['GET', 'chatgpt.com', '/', 'unrecognized:pass'],
    ['POST', 'claude.ai', '/api/organizations/o/chat_conversations/c/completion', 'claude-web:completion:inspected'],
    ['GET', 'claude.ai', '/api/organizations', 'unrecognized:pass'],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'openrouter.ai', '/api/v1/chat/completions', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'openrouter.ai', '/api/v1/undocumented', 'unrecognized:reject'],
    ['GET', 'openrouter.ai', '/models', 'unrecognized:pass'],
    ['GET', 'openrouter.ai', '/chat/', 'unrecognized:pass'],
    ['POST', 'api.githubcopilot.com', '/chat/completions', 'openai-compatible:chat.completions:inspected'],
    ['GET', 'api.individual.githubcopilot.com', '/_ping', 'unrecognized:pass'],
    // Copilot also serves Anthropic's Messages API for Claude models.
    ['POST', 'api.githubcopilot.com', '/v1/messages', 'anthropic:messages:inspected'],
    ['POST', 'api.business.githubcopilot.com', '/v1/messages/count_tokens', 'anthropic:messages.count_tokens:inspected'],
    ['POST', 'api2.cursor.sh', '/aiserver.v1.ChatService/StreamUnifiedChatWithTools', 'unrecognized:pass'],
    // A path the origin would read as another route is refused even where unknown routes pass: the
    // upstream URL drops dot segments and fragments and reads `\` as `/`.
    ['POST', 'chatgpt.com', '/backend-api/./conversation', 'unrecognized:reject'],
    ['POST', 'chatgpt.com', '/backend-api/conversation#x', 'unrecognized:reject'],
    ['POST', 'chatgpt.com', '/backend-api\\conversation', 'unrecognized:reject'],
    ['POST', 'chatgpt.com', '/backend-api/%2e/conversation', 'unrecognized:reject'],
    ['POST', 'chatgpt.com', '/x//backend-api/conversation', 'unrecognized:reject'],
    ['POST', 'openrouter.ai', '/x/../api/v1/chat/completions', 'unrecognized:reject'],
    ['POST', 'api.githubcopilot.com', '/chat/completions#', 'unrecognized:reject'],
    ['POST', 'api2.cursor.sh', '/aiserver.v1.ChatService/StreamUnifiedChatWithTools#', 'unrecognized:reject'],
    ['GET', 'chatgpt.com', '/c/', 'unrecognized:pass'],
    // Escapes of characters that stand for themselves are decoded before routes are matched: origins
    // route on the decoded path, so these are the inspected routes in another spelling.
    ['POST', 'api.githubcopilot.com', '/chat/completion%73', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'api.githubcopilot.com', '/v1/message%73', 'anthropic:messages:inspected'],
    ['POST', 'api.githubcopilot.com', '/%63hat/completions', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash%3AgenerateContent', 'gemini:generateContent:inspected'],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash%3agenerateContent', 'gemini:generateContent:inspected'],
    ['POST', 'chatgpt.com', '/backend-api/conversatio%6E', 'chatgpt-web:conversation:inspected'],
    ['POST', 'api.openai.com', '/v1/chat/completions%20', 'unrecognized:reject'],
    // ... and one trailing slash is the same route.
    ['POST', 'api.githubcopilot.com', '/chat/completions/', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'api.githubcopilot.com', '/v1/messages/', 'anthropic:messages:inspected'],
    ['POST', 'chatgpt.com', '/backend-api/conversation/', 'chatgpt-web:conversation:inspected'],
    ['POST', 'api.openai.com', '/v1/chat/completions/', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'chatgpt.com', '/backend-api/conversation//', 'unrecognized:reject'],
    // Copilot passes unknown routes: each shape is read with and without /v1.
    ['POST', 'api.githubcopilot.com', '/v1/chat/completions', 'openai-compatible:chat.completions:inspected'],
    ['POST', 'api.githubcopilot.com', '/messages', 'anthropic:messages:inspected'],
    ['POST', 'api.individual.githubcopilot.com', '/v1/responses', 'openai-compatible:responses:inspected'],
    ['GET', 'api.githubcopilot.com', '/v1/models', 'openai-compatible:models:uninspected'],
    ['POST', 'proxy.individual.githubcopilot.com', '/v1/engines/gpt-41-copilot/completions', 'copilot-completions:engines.completions:inspected'],
    ['POST', 'api.githubcopilot.com', '/agents/sessions', 'unrecognized:pass'],
  ])('%s %s%s → %s', (method, host, path, expected) => {
    expect(summary(method, host, path)).toBe(expected);
  });
});

function recognized(method: string, host: string, path: string): RecognizedRequest {
  const result = recognizeRequest(req(method, host, path), catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`${method} ${host}${path} not recognised`);
  return result;
}

describe('parseRequest', () => {
  it('decodes and reads an inspected body', () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    const request = expectParsed(parseRequest(recognized('POST', 'api.openai.com', '/v1/chat/completions'), new TextEncoder().encode(body)));
    expect(request).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', texts: [{ text: 'hello' }] });
  });

  it('never reads the body of an uninspected route (it may be a multipart upload)', () => {
    const multipart = '--boundary\r\nContent-Disposition: form-data; name="file"\r\n\r\nnot json\r\n--boundary--';
    const request = expectParsed(parseRequest(recognized('POST', 'api.openai.com', '/v1/files'), multipart));
    expect(request).toMatchObject({ operation: 'files', inspected: false, texts: [] });
  });

  it('turns invalid JSON into a 400 for the right provider and model', () => {
    const error = expectFailed(parseRequest(recognized('POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-pro:generateContent'), '{"contents": ['));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'gemini', model: 'gemini-2.5-pro' });
    expect(error.message).toMatch(/^The request body of POST \/v1beta\/models\/gemini-2\.5-pro:generateContent is not valid JSON: .* at line 1, column 15\./);
  });

  it('rejects an empty body on an inspected route', () => {
    expect(expectFailed(parseRequest(recognized('POST', 'api.anthropic.com', '/v1/messages'), undefined)).message).toMatch(/is empty/);
  });
});

describe('non-canonical paths', () => {
  it('are refused with a 400 that says why, not as an undocumented route', () => {
    const error = unknownRouteError(req('POST', 'chatgpt.com', '/backend-api/./conversation'), catalog.match('chatgpt.com')!);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toMatch(/its path is not in canonical form .* Send the plain path\./);
  });
});

describe('unknown routes', () => {
  it('explain what was blocked and what to do, without the query string', () => {
    const entry = catalog.match('generativelanguage.googleapis.com')!;
    const error = unknownRouteError(req('post', 'GenerativeLanguage.googleapis.com:443', '/v1beta/secretRoute?key=AIzaSECRET'), entry);
    expect(error).toEqual({
      status: 404,
      type: 'unknown_route',
      provider: 'gemini',
      message:
        'Bifrost Edge blocked POST /v1beta/secretRoute on generativelanguage.googleapis.com: it is not a documented Gemini API route. '
        + 'Edge lets through only the documented API routes of AI services, so that no request escapes inspection. '
        + 'If a tool needs this route, ask your administrator to allow it in the Edge policy.',
    });
  });

  it.each([
    ['api.openai.com', 'application/json', (body: Record<string, unknown>) => (body['error'] as { message: string }).message],
    ['api.anthropic.com', 'application/json', (body: Record<string, unknown>) => (body['error'] as { message: string }).message],
    ['generativelanguage.googleapis.com', 'application/json', (body: Record<string, unknown>) => (body['error'] as { message: string }).message],
    ['api2.cursor.sh', 'application/json', (body: Record<string, unknown>) => body['message'] as string],
  ])('are answered in %s\'s own error format', (host, contentType, messageOf) => {
    const entry = catalog.match(host)!;
    const error = unknownRouteError(req('POST', host, '/nope'), entry);
    const response = errorResponseFor(entry, error, { stream: false });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe(contentType);
    expect(messageOf(JSON.parse(errorBodyText(response)) as Record<string, unknown>)).toBe(error.message);
  });

  it('formats Anthropic errors as Anthropic, Gemini as Google', () => {
    const err = edgeError(403, 'model_blocked', 'no');
    expect(JSON.parse(errorBodyText(errorResponseFor(catalog.match('api.anthropic.com')!, err, { stream: false })))).toEqual({ type: 'error', error: { type: 'model_blocked', message: 'no' } });
    expect(JSON.parse(errorBodyText(errorResponseFor(catalog.match('generativelanguage.googleapis.com')!, err, { stream: false }))).error.status).toBe('PERMISSION_DENIED');
  });
});

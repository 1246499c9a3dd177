import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { edgeError, type EdgeError } from '../../src/edge-error.js';
import type { ProviderAdapter } from '../../src/providers/adapter.js';
import { anthropicAdapter } from '../../src/providers/anthropic.js';
import { chatGptWebAdapter } from '../../src/providers/chatgpt-web.js';
import { claudeWebAdapter } from '../../src/providers/claude-web.js';
import { bifrostErrorBody, googleStatusFor } from '../../src/providers/error-bodies.js';
import { geminiAdapter } from '../../src/providers/gemini.js';
import { openAICompatibleAdapter } from '../../src/providers/openai-compatible.js';
import type { ErrorResponse } from '../../src/providers/types.js';
import { errorBodyText } from '../support/error-body-text.js';
import { errorSchemas, schemaProblems } from './support.js';

const modelBlocked = edgeError(403, 'model_blocked', 'Model gpt-4o is not allowed for your virtual key. Ask your administrator for access.', {
  provider: 'openai',
  model: 'gpt-4o',
});

/** The JSON payload of the single SSE event in a streamed error, with its event name. */
function sseEvent(body: string): { event?: string; data: unknown } {
  expect(body.endsWith('\n\n')).toBe(true);
  const lines = body.trimEnd().split('\n');
  const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length);
  const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice('data: '.length)).join('\n');
  return { ...(event !== undefined ? { event } : {}), data: JSON.parse(data) };
}

const schemas = errorSchemas.components.schemas;

describe.each<[string, ProviderAdapter, string | undefined, (body: unknown, err: EdgeError) => void]>([
  ['openai-compatible', openAICompatibleAdapter, undefined, (body, err) => {
    expect(body).toEqual({
      is_bifrost_error: false,
      status_code: err.status,
      type: err.type,
      error: { type: err.type, code: err.type, message: err.message },
      extra_fields: { provider: 'openai', model_requested: 'gpt-4o', original_model_requested: 'gpt-4o' },
    });
    expect(schemaProblems(body, { $ref: '#/components/schemas/BifrostError' })).toEqual([]);
  }],
  ['anthropic', anthropicAdapter, 'error', (body, err) => {
    expect(body).toEqual({ type: 'error', error: { type: err.type, message: err.message } });
    expect(schemaProblems(body, errorSchemas.anthropicError)).toEqual([]);
  }],
  ['gemini', geminiAdapter, undefined, (body, err) => {
    expect(body).toEqual({
      error: {
        code: 403,
        message: err.message,
        status: 'PERMISSION_DENIED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'model_blocked', domain: 'bifrost-edge', metadata: { type: 'model_blocked', model: 'gpt-4o' } }],
      },
    });
    expect(schemaProblems(body, schemas['GeminiError']!)).toEqual([]);
  }],
  ['chatgpt-web', chatGptWebAdapter, undefined, (body, err) => {
    expect(body).toMatchObject({ error: { message: err.message, type: err.type }, detail: err.message, status_code: 403 });
    expect(schemaProblems(body, { $ref: '#/components/schemas/BifrostError' })).toEqual([]);
  }],
  ['claude-web', claudeWebAdapter, 'error', (body, err) => {
    expect(body).toMatchObject({ error: { message: err.message, type: err.type }, detail: err.message });
  }],
])('%s error responses', (_name, adapter, sseEventName, checkBody) => {
  it('JSON: status, headers and a body in the provider format', () => {
    const response = adapter.errorResponse(modelBlocked, { stream: false });
    expect(response.status).toBe(403);
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'x-bifrost-edge-blocked': 'model_blocked', 'x-should-retry': 'false' });
    checkBody(JSON.parse(errorBodyText(response)), modelBlocked);
  });

  it('stream: the same error as one SSE event in the provider dialect', () => {
    const response = adapter.errorResponse(modelBlocked, { stream: true });
    expect(response.status).toBe(403);
    expect(response.headers).toMatchObject({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-bifrost-edge-blocked': 'model_blocked' });
    const { event, data } = sseEvent(errorBodyText(response));
    expect(event).toBe(sseEventName);
    checkBody(data, modelBlocked);
  });
});

describe('BifrostError body details', () => {
  it.each([
    ['a Bifrost provider and model', { provider: 'groq', model: 'llama-3.3-70b' }, { provider: 'groq', model_requested: 'llama-3.3-70b', original_model_requested: 'llama-3.3-70b' }],
    ['a surface Bifrost does not know (left out of the enum field)', { provider: 'copilot', model: 'gpt-4.1' }, { model_requested: 'gpt-4.1', original_model_requested: 'gpt-4.1' }],
    ['no provider or model', {}, undefined],
  ])('%s', (_name, extra, extraFields) => {
    const body = bifrostErrorBody(edgeError(429, 'rate_limited', 'Slow down.', extra));
    expect(body.extra_fields).toEqual(extraFields);
    expect(schemaProblems(body, { $ref: '#/components/schemas/BifrostError' })).toEqual([]);
  });

  it('keeps 5xx errors retryable and sanitises the type header', () => {
    const response = openAICompatibleAdapter.errorResponse(edgeError(502, 'upstream unreachable\r\nx-evil: 1', 'Bifrost is unreachable.'), { stream: false });
    expect(response.headers['x-should-retry']).toBeUndefined();
    expect(response.headers['x-bifrost-edge-blocked']).toBe('upstream_unreachable__x-evil__1');
  });
});

describe('Google status names', () => {
  it.each([
    [400, 'INVALID_ARGUMENT'], [401, 'UNAUTHENTICATED'], [402, 'RESOURCE_EXHAUSTED'], [403, 'PERMISSION_DENIED'], [404, 'NOT_FOUND'],
    [409, 'ABORTED'], [412, 'FAILED_PRECONDITION'], [418, 'FAILED_PRECONDITION'], [429, 'RESOURCE_EXHAUSTED'], [446, 'PERMISSION_DENIED'],
    [499, 'CANCELLED'], [500, 'INTERNAL'], [501, 'UNIMPLEMENTED'], [502, 'UNAVAILABLE'], [503, 'UNAVAILABLE'], [504, 'DEADLINE_EXCEEDED'],
    [507, 'INTERNAL'], [246, 'UNKNOWN'],
  ])('%i → %s', (status, name) => {
    expect(googleStatusFor(status)).toBe(name);
  });
});

/** A fetch that answers every request with the given Edge error response. */
function answerWith(response: ErrorResponse, status = response.status): typeof fetch {
  return async () => new Response(response.body, { status, headers: response.headers });
}

describe('official SDKs raise their native errors', () => {
  it('OpenAI SDK: PermissionDeniedError carrying the message and type', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0, fetch: answerWith(openAICompatibleAdapter.errorResponse(modelBlocked, { stream: false })) });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(modelBlocked.message);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('model_blocked');
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_blocked');
  });

  it('OpenAI SDK: an error event inside a started stream becomes an APIError', async () => {
    const streamed = openAICompatibleAdapter.errorResponse(modelBlocked, { stream: true });
    const client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0, fetch: answerWith(streamed, 200) });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const error = await (async () => {
      for await (const chunk of stream) void chunk;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain(modelBlocked.message);
  });

  it('Anthropic SDK: PermissionDeniedError carrying the message and type', async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-test', maxRetries: 0, fetch: answerWith(anthropicAdapter.errorResponse(modelBlocked, { stream: false })) });
    const error = await client.messages.create({ model: 'claude-opus-4-7', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((error as Error).message).toContain(modelBlocked.message);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'model_blocked', message: modelBlocked.message } });
  });

  it('Anthropic SDK: an `event: error` inside a started stream becomes an APIError', async () => {
    const streamed = anthropicAdapter.errorResponse(modelBlocked, { stream: true });
    const client = new Anthropic({ apiKey: 'sk-ant-test', maxRetries: 0, fetch: answerWith(streamed, 200) });
    const stream = await client.messages.create({ model: 'claude-opus-4-7', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const error = await (async () => {
      for await (const event of stream) void event;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as Error).message).toContain(modelBlocked.message);
  });
});

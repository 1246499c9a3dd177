import { describe, expect, it } from 'vitest';
import {
  bifrostRoute, isBifrostVirtualKey, PROVIDER_CREDENTIAL_HEADERS, qualifiedModel, stripProviderCredentials, type ForwardMode,
} from '../../src/gateway/bifrost-routes.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { recognizeRequest } from '../../src/providers/registry.js';
import { req } from './support.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

/** Maps a request the way the proxy does: recognise it, then ask for the Bifrost route. */
function route(method: string, host: string, path: string, model: string | null, mode: ForwardMode) {
  const recognized = recognizeRequest(req(method, host, path), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error(`${method} ${host}${path} not recognised`);
  return bifrostRoute({ provider: recognized.entry.provider, route: recognized.route, model }, mode);
}

describe('gateway mode', () => {
  it.each([
    ['POST', 'api.openai.com', '/v1/chat/completions', 'gpt-4o', { path: '/openai/v1/chat/completions' }],
    ['POST', 'api.openai.com', '/v1/responses?include=usage', 'gpt-4.1', { path: '/openai/v1/responses?include=usage' }],
    ['POST', 'api.openai.com', '/v1/embeddings', 'text-embedding-3-small', { path: '/openai/v1/embeddings' }],
    ['GET', 'api.openai.com', '/v1/models', null, { path: '/openai/v1/models' }],
    ['POST', 'api.openai.com', '/v1/conversations/conv_1/items', null, { path: '/openai/v1/conversations/conv_1/items' }],
    ['POST', 'api.openai.com', '/v1/images/generations', 'gpt-image-1', { path: '/openai/v1/images/generations' }],
    ['POST', 'api.openai.com', '/v1/audio/speech', 'gpt-4o-mini-tts', { path: '/openai/v1/audio/speech' }],
    ['POST', 'api.anthropic.com', '/v1/messages', 'claude-sonnet-4-5', { path: '/anthropic/v1/messages' }],
    ['POST', 'api.anthropic.com', '/v1/messages/count_tokens', 'claude-sonnet-4-5', { path: '/anthropic/v1/messages/count_tokens' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent', 'gemini-2.5-flash', { path: '/genai/v1beta/models/gemini-2.5-flash:generateContent' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'gemini-2.5-flash', { path: '/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSECRET&alt=sse', 'gemini-2.5-flash', { path: '/genai/v1beta/models/gemini-2.5-flash:generateContent?alt=sse' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSECRET', 'gemini-2.5-flash', { path: '/genai/v1beta/models/gemini-2.5-flash:generateContent' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1/models/gemini-2.0-flash:generateContent', 'gemini-2.0-flash', { path: '/genai/v1beta/models/gemini-2.0-flash:generateContent' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1alpha/models/gemini-2.0-flash:countTokens', 'gemini-2.0-flash', { path: '/genai/v1beta/models/gemini-2.0-flash:countTokens' }],
    ['GET', 'generativelanguage.googleapis.com', '/v1beta/models?pageSize=50', null, { path: '/genai/v1beta/models?pageSize=50' }],
    ['POST', 'generativelanguage.googleapis.com', '/upload/v1beta/files?uploadType=resumable&key=AIzaSECRET', null, { path: '/genai/upload/v1beta/files?uploadType=resumable' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/cachedContents?key=AIzaSECRET', 'gemini-2.5-flash', { path: '/genai/v1beta/cachedContents' }],
    ['POST', 'api.anthropic.com', '/v1/messages/batches', 'claude-haiku-4-5', { path: '/anthropic/v1/messages/batches' }],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', 'llama-3.3-70b-versatile', { path: '/openai/v1/chat/completions', model: 'groq/llama-3.3-70b-versatile' }],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', 'openai/gpt-oss-120b', { path: '/openai/v1/chat/completions', model: 'groq/openai/gpt-oss-120b' }],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', 'groq/llama-3.1-8b-instant', { path: '/openai/v1/chat/completions', model: 'groq/llama-3.1-8b-instant' }],
    ['POST', 'api.mistral.ai', '/v1/chat/completions', 'mistral-large-latest', { path: '/openai/v1/chat/completions', model: 'mistral/mistral-large-latest' }],
    ['POST', 'api.mistral.ai', '/v1/embeddings', 'mistral-embed', { path: '/openai/v1/embeddings', model: 'mistral/mistral-embed' }],
    ['POST', 'api.x.ai', '/v1/chat/completions', 'grok-4', { path: '/openai/v1/chat/completions', model: 'xai/grok-4' }],
    ['POST', 'api.x.ai', '/v1/responses', 'grok-4', { path: '/openai/v1/responses', model: 'xai/grok-4' }],
    ['POST', 'api.deepseek.com', '/chat/completions', 'deepseek-chat', { path: '/openai/v1/chat/completions', model: 'deepseek/deepseek-chat' }],
    ['POST', 'api.deepseek.com', '/v1/chat/completions?x=1', 'deepseek-reasoner', { path: '/openai/v1/chat/completions?x=1', model: 'deepseek/deepseek-reasoner' }],
    ['POST', 'openrouter.ai', '/api/v1/chat/completions', 'anthropic/claude-sonnet-4', { path: '/openai/v1/chat/completions', model: 'openrouter/anthropic/claude-sonnet-4' }],
    ['POST', 'openrouter.ai', '/api/v1/completions', 'openrouter/auto', { path: '/openai/v1/completions', model: 'openrouter/auto' }],
    ['POST', 'api.perplexity.ai', '/chat/completions', 'sonar-pro', { path: '/openai/v1/chat/completions', model: 'perplexity/sonar-pro' }],
    ['POST', 'api.perplexity.ai', '/chat/completions', null, { path: '/openai/v1/chat/completions' }],
    ['GET', 'api.groq.com', '/openai/v1/models', null, null],
    ['POST', 'api.groq.com', '/openai/v1/files', null, null],
    ['POST', 'api.mistral.ai', '/v1/fim/completions', 'codestral-latest', null],
    ['POST', 'api.x.ai', '/v1/images/generations', 'grok-2-image', null],
    ['POST', 'api.groq.com', '/openai/v1/audio/speech', 'playai-tts', null],
    ['POST', 'api.githubcopilot.com', '/chat/completions', 'gpt-4.1', null],
    ['POST', 'chatgpt.com', '/backend-api/conversation', 'gpt-4o', null],
    ['POST', 'claude.ai', '/api/organizations/o/chat_conversations/c/completion', null, null],
  ])('%s %s%s (model %s) → %j', (method, host, path, model, expected) => {
    expect(route(method, host, path, model, 'gateway')).toEqual(expected);
  });
});

describe('pass-through mode', () => {
  it.each([
    ['POST', 'api.openai.com', '/v1/chat/completions', { path: '/openai_passthrough/v1/chat/completions' }],
    ['POST', 'api.openai.com', '/v1/audio/transcriptions?x=1', { path: '/openai_passthrough/v1/audio/transcriptions?x=1' }],
    ['POST', 'api.anthropic.com', '/v1/messages?beta=true', { path: '/anthropic_passthrough/v1/messages?beta=true' }],
    ['POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaAPPKEY', { path: '/genai_passthrough/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaAPPKEY' }],
    ['POST', 'generativelanguage.googleapis.com', '/upload/v1beta/files?uploadType=resumable', { path: '/genai_passthrough/upload/v1beta/files?uploadType=resumable' }],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', null],
    ['POST', 'openrouter.ai', '/api/v1/chat/completions', null],
    ['POST', 'api.githubcopilot.com', '/chat/completions', null],
    ['POST', 'chatgpt.com', '/backend-api/conversation', null],
  ])('%s %s%s → %j', (method, host, path, expected) => {
    expect(route(method, host, path, 'm', 'passthrough')).toEqual(expected);
  });
});

describe('qualifiedModel', () => {
  it.each([
    ['groq', 'llama-3.3-70b-versatile', 'groq/llama-3.3-70b-versatile'],
    ['groq', 'groq/compound', 'groq/compound'],
    ['groq', 'meta-llama/llama-4-scout-17b-16e-instruct', 'groq/meta-llama/llama-4-scout-17b-16e-instruct'],
    ['openrouter', 'openai/gpt-4o', 'openrouter/openai/gpt-4o'],
    ['mistral', 'mistral-small-latest', 'mistral/mistral-small-latest'],
  ] as const)('%s + %s → %s', (provider, model, expected) => {
    expect(qualifiedModel(provider, model)).toBe(expected);
  });
});

describe('credentials', () => {
  it('lists the headers apps put provider keys in', () => {
    expect(PROVIDER_CREDENTIAL_HEADERS).toEqual(['authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'ocp-apim-subscription-key']);
  });

  it('strips them in any case and keeps everything else', () => {
    const headers = {
      Authorization: 'Bearer sk-proj-abc',
      'X-Api-Key': 'sk-ant-xyz',
      'x-goog-api-key': 'AIza123',
      'api-key': 'azure-key',
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-stainless-lang': ['js'],
    };
    expect(stripProviderCredentials(headers)).toEqual({ 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-stainless-lang': ['js'] });
    expect(headers.Authorization).toBe('Bearer sk-proj-abc');
  });

  it.each([
    ['sk-bf-1234', true],
    ['Bearer sk-bf-1234', true],
    ['bearer   sk-bf-1234', true],
    [' sk-bf-x ', true],
    [['sk-proj-1', 'sk-bf-2'], true],
    ['sk-proj-1234', false],
    ['Bearer sk-ant-api03-xyz', false],
    ['sk-bfx', false],
    ['', false],
    [undefined, false],
    [[], false],
  ])('isBifrostVirtualKey(%j) → %s', (value, expected) => {
    expect(isBifrostVirtualKey(value)).toBe(expected);
  });
});

/** Each stand-in route answers the shape the Bifrost OpenAPI subset documents, echoing the request. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { VK, call, component, expectFits, jsonHeaders, schemaOf } from './helpers.js';

let bifrost: BifrostStandin;

beforeAll(async () => {
  bifrost = await startBifrostStandin({
    virtualKeys: [
      {
        value: VK,
        name: 'alice',
        budgets: [{ max_limit: 50, reset_duration: '1M', current_usage: 12.5 }],
        rate_limit: { token_max_limit: 100000, token_reset_duration: '1h', request_max_limit: 100, request_reset_duration: '1m' },
        provider_configs: [
          { provider: 'openai', allowed_models: ['*'], budgets: [{ max_limit: 20, reset_duration: '1d' }] },
          { provider: 'anthropic', allowed_models: ['claude-sonnet-4-5'] },
          { provider: 'gemini', allowed_models: ['*'], blacklisted_models: ['gemini-2.5-pro'] },
        ],
        mcp_configs: [{ mcp_client_name: 'github', tools_to_execute: ['list_issues'] }],
        team: { name: 'platform' },
      },
      { value: 'sk-bf-test-bob', name: 'bob', provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }] },
    ],
  });
});

afterAll(async () => {
  await bifrost.close();
});

const chatBody = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'first answer' },
    { role: 'user', content: [{ type: 'text', text: 'hello there' }] },
  ],
};

describe('stand-in listens and reports health', () => {
  it('binds 127.0.0.1 and answers /health with HealthResponse', async () => {
    expect(bifrost.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await call(bifrost.url, 'GET', '/health');
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/health', 'get'));
    expect(r.json).toMatchObject({ status: 'ok' });
  });
});

describe('OpenAI-shaped routes', () => {
  it('POST /openai/v1/chat/completions answers a chat.completion echoing the last user text', async () => {
    const r = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', chatBody, jsonHeaders());
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/openai/v1/chat/completions', 'post'));
    expect(r.json).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hello there' }, finish_reason: 'stop' }],
    });
    const usage = (r.json as { usage: Record<string, number> }).usage;
    expect(usage['prompt_tokens']).toBeGreaterThan(0);
    expect(usage['total_tokens']).toBe((usage['prompt_tokens'] ?? 0) + (usage['completion_tokens'] ?? 0));
    expect(r.json).not.toHaveProperty('extra_fields');
  });

  it('POST /v1/chat/completions splits provider/model and adds Bifrost extra_fields', async () => {
    const r = await call(bifrost.url, 'POST', '/v1/chat/completions', { ...chatBody, model: 'anthropic/claude-sonnet-4-5' }, jsonHeaders());
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/v1/chat/completions', 'post'));
    expect(r.json).toMatchObject({
      model: 'claude-sonnet-4-5',
      choices: [{ message: { content: 'echo: hello there' } }],
      extra_fields: { provider: 'anthropic', model_requested: 'anthropic/claude-sonnet-4-5', request_type: 'chat_completion' },
    });
  });

  for (const path of ['/openai/v1/responses', '/v1/responses']) {
    it(`POST ${path} answers a Responses API object`, async () => {
      const r = await call(bifrost.url, 'POST', path, {
        model: 'openai/gpt-4o',
        instructions: 'be brief',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'what is bifrost?' }] }],
      }, jsonHeaders());
      expect(r.status).toBe(200);
      expectFits(r.json, schemaOf(path, 'post'));
      expect(r.json).toMatchObject({
        object: 'response',
        status: 'completed',
        model: 'gpt-4o',
        output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'echo: what is bifrost?' }] }],
        usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number), total_tokens: expect.any(Number) },
      });
    });
  }

  it('POST /openai/v1/responses takes a plain string input', async () => {
    const r = await call(bifrost.url, 'POST', '/openai/v1/responses', { model: 'gpt-4o', input: 'plain input' }, jsonHeaders());
    expect(r.json).toMatchObject({ output: [{ content: [{ text: 'echo: plain input' }] }] });
  });

  it('POST /openai/v1/embeddings answers an embedding list (deterministic vectors, `dimensions` honoured)', async () => {
    const body = { model: 'text-embedding-3-small', input: ['alpha', 'beta'], dimensions: 8 };
    const r = await call(bifrost.url, 'POST', '/openai/v1/embeddings', body, jsonHeaders());
    expect(r.status).toBe(200);
    const json = r.json as { object: string; data: Array<{ object: string; index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
    expect(json.object).toBe('list');
    expect(json.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([['embedding', 0, 8], ['embedding', 1, 8]]);
    expect(json.usage.prompt_tokens).toBeGreaterThan(0);
    const again = await call(bifrost.url, 'POST', '/openai/v1/embeddings', body, jsonHeaders());
    expect((again.json as typeof json).data[0]?.embedding).toEqual(json.data[0]?.embedding);
  });

  it('GET /openai/v1/models lists models the key may use, OpenAI style', async () => {
    const r = await call(bifrost.url, 'GET', '/openai/v1/models', undefined, { 'x-bf-vk': VK });
    expect(r.status).toBe(200);
    const json = r.json as { object: string; data: Array<{ id: string; object: string }> };
    expect(json.object).toBe('list');
    const ids = json.data.map((m) => m.id);
    expect(ids).toContain('openai/gpt-4o');
    expect(ids).toContain('anthropic/claude-sonnet-4-5');
    expect(ids).not.toContain('anthropic/claude-haiku-4-5'); // not in alice's allowed_models
    expect(ids).not.toContain('gemini/gemini-2.5-pro'); // blacklisted
    expect(json.data.every((m) => m.object === 'model')).toBe(true);
  });

  it('GET /v1/models answers ListModelsResponse filtered by the key', async () => {
    const r = await call(bifrost.url, 'GET', '/v1/models', undefined, { authorization: 'Bearer sk-bf-test-bob' });
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/v1/models', 'get'));
    expect((r.json as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['openai/gpt-4o-mini']);
  });
});

describe('Anthropic routes', () => {
  it('POST /anthropic/v1/messages answers a message with usage', async () => {
    const r = await call(bifrost.url, 'POST', '/anthropic/v1/messages', {
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      system: 'be brief',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'bonjour' }] }],
    }, jsonHeaders(null, { 'x-api-key': VK, 'anthropic-version': '2023-06-01' }));
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/anthropic/v1/messages', 'post'));
    expect(r.json).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'echo: bonjour' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
  });

  it('POST /anthropic/v1/messages/count_tokens answers input_tokens', async () => {
    const r = await call(bifrost.url, 'POST', '/anthropic/v1/messages/count_tokens', {
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'count me' }],
    }, jsonHeaders());
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/anthropic/v1/messages/count_tokens', 'post'));
    expect((r.json as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });
});

describe('Gemini routes', () => {
  const gemBody = {
    systemInstruction: { parts: [{ text: 'be brief' }] },
    contents: [
      { role: 'user', parts: [{ text: 'earlier' }] },
      { role: 'model', parts: [{ text: 'reply' }] },
      { role: 'user', parts: [{ text: 'ciao' }] },
    ],
  };

  it('POST /genai/v1beta/models/{model}:generateContent answers GenerateContentResponse', async () => {
    const r = await call(bifrost.url, 'POST', '/genai/v1beta/models/gemini-2.5-flash:generateContent', gemBody, jsonHeaders(null, { 'x-goog-api-key': VK }));
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/genai/v1beta/models/{model}:generateContent', 'post'));
    expect(r.json).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ text: 'echo: ciao' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: expect.any(Number), candidatesTokenCount: expect.any(Number), totalTokenCount: expect.any(Number) },
      modelVersion: 'gemini-2.5-flash',
    });
  });

  it('POST ...:streamGenerateContent without alt=sse answers a JSON array of chunks', async () => {
    const r = await call(bifrost.url, 'POST', '/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent', gemBody, jsonHeaders());
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const chunks = r.json as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> }; finishReason?: string }> }>;
    expect(chunks).toHaveLength(5);
    const schema = component('GeminiGenerationResponse');
    for (const c of chunks) expectFits(c, schema);
    expect(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text).join('')).toBe('echo: ciao');
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe('STOP');
  });

  it('GET /genai/v1beta/models answers GeminiListModelsResponse', async () => {
    const r = await call(bifrost.url, 'GET', '/genai/v1beta/models', undefined, { 'x-goog-api-key': VK });
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/genai/v1beta/models', 'get'));
    expect((r.json as { models: Array<{ name: string }> }).models.map((m) => m.name)).toEqual(['models/gemini-2.5-flash']);
  });
});

describe('governance routes', () => {
  it('GET /api/governance/virtual-keys answers ListVirtualKeysResponse with full VirtualKey objects', async () => {
    const r = await call(bifrost.url, 'GET', '/api/governance/virtual-keys');
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/api/governance/virtual-keys', 'get'));
    const json = r.json as { virtual_keys: Array<Record<string, unknown>>; count: number; total_count: number };
    expect(json.count).toBe(2);
    expect(json.total_count).toBe(2);
    expect(json.virtual_keys[0]).toMatchObject({
      name: 'alice',
      value: VK,
      is_active: true,
      team: { name: 'platform' },
      mcp_configs: [{ mcp_client: { name: 'github' }, tools_to_execute: ['list_issues'] }],
      budgets: [{ max_limit: 50, reset_duration: '1M', current_usage: 12.5 }],
      rate_limit: { request_max_limit: 100, request_reset_duration: '1m', token_max_limit: 100000 },
    });
  });

  it('paginates and searches the key list', async () => {
    const page = await call(bifrost.url, 'GET', '/api/governance/virtual-keys?limit=1&offset=1');
    expect(page.json).toMatchObject({ count: 1, total_count: 2, limit: 1, offset: 1, virtual_keys: [{ name: 'bob' }] });
    const search = await call(bifrost.url, 'GET', '/api/governance/virtual-keys?search=ALI');
    expect(search.json).toMatchObject({ count: 1, virtual_keys: [{ name: 'alice' }] });
  });

  it('GET /api/governance/virtual-keys/{id} answers one key, 404 BifrostError for an unknown id', async () => {
    const id = bifrost.virtualKeys()[1]?.id ?? '';
    const r = await call(bifrost.url, 'GET', `/api/governance/virtual-keys/${id}`);
    expect(r.status).toBe(200);
    expectFits((r.json as { virtual_key: unknown }).virtual_key, component('VirtualKey'));
    const missing = await call(bifrost.url, 'GET', '/api/governance/virtual-keys/nope');
    expect(missing.status).toBe(404);
    expectFits(missing.json, schemaOf('/api/governance/virtual-keys/{vk_id}', 'get', '404'));
  });

  it('GET /api/governance/virtual-keys/quota answers the caller key\'s VirtualKeyQuotaResponse', async () => {
    const r = await call(bifrost.url, 'GET', '/api/governance/virtual-keys/quota', undefined, { 'x-bf-vk': VK });
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/api/governance/virtual-keys/quota', 'get'));
    expect(r.json).toMatchObject({
      virtual_key_name: 'alice',
      is_active: true,
      budgets: [{ max_limit: 50, current_usage: 12.5, reset_duration: '1M' }],
      rate_limit: { token_max_limit: 100000, request_max_limit: 100 },
    });
    const pcs = (r.json as { provider_configs: Array<{ provider: string; keys: unknown; budgets: unknown[] }> }).provider_configs;
    expect(pcs.map((p) => p.provider)).toEqual(['openai', 'anthropic', 'gemini']);
    expect(pcs.every((p) => p.keys === null)).toBe(true);
    expect(pcs[0]?.budgets).toHaveLength(1);
  });

  it('quota for a key without budgets or rate limit answers empty budgets and a null rate_limit', async () => {
    const r = await call(bifrost.url, 'GET', '/api/governance/virtual-keys/quota', undefined, { authorization: 'Bearer sk-bf-test-bob' });
    expect(r.status).toBe(200);
    expectFits(r.json, schemaOf('/api/governance/virtual-keys/quota', 'get'));
    expect(r.json).toMatchObject({ virtual_key_name: 'bob', budgets: [], rate_limit: null });
  });
});

describe('pass-through routes', () => {
  it('/openai_passthrough/v1/chat/completions keeps the app credential and answers a chat.completion', async () => {
    const r = await call(bifrost.url, 'POST', '/openai_passthrough/v1/chat/completions', chatBody, jsonHeaders(VK, { authorization: 'Bearer sk-proj-app-own-key' }));
    expect(r.status).toBe(200);
    expectFits(r.json, component('ChatCompletionResponse'));
    expect(r.json).toMatchObject({ choices: [{ message: { content: 'echo: hello there' } }] });
    const seen = bifrost.received.at(-1);
    expect(seen?.headers['authorization']).toBe('Bearer sk-proj-app-own-key');
    expect(seen?.virtualKey).toBe(VK);
  });

  it('/anthropic_passthrough/v1/messages answers an Anthropic message', async () => {
    const r = await call(bifrost.url, 'POST', '/anthropic_passthrough/v1/messages', {
      model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'via passthrough' }],
    }, jsonHeaders(VK, { 'x-api-key': 'sk-ant-app-own-key' }));
    expect(r.status).toBe(200);
    expectFits(r.json, component('AnthropicMessageResponse'));
    expect(r.json).toMatchObject({ content: [{ text: 'echo: via passthrough' }] });
  });

  it('/genai_passthrough/v1beta/models/{m}:generateContent answers a Gemini response', async () => {
    const r = await call(bifrost.url, 'POST', '/genai_passthrough/v1beta/models/gemini-2.5-flash:generateContent', {
      contents: [{ parts: [{ text: 'gemini passthrough' }] }],
    }, jsonHeaders(VK, { 'x-goog-api-key': 'AIza-app-own-key' }));
    expect(r.status).toBe(200);
    expectFits(r.json, component('GeminiGenerationResponse'));
    expect(r.json).toMatchObject({ candidates: [{ content: { parts: [{ text: 'echo: gemini passthrough' }] } }] });
  });

  it('other pass-through paths echo what arrived', async () => {
    const r = await call(bifrost.url, 'POST', '/openai_passthrough/v1/files?purpose=batch', { hello: 'world' }, jsonHeaders(VK, { authorization: 'Bearer sk-proj-x' }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      object: 'passthrough.echo',
      provider: 'openai',
      method: 'POST',
      path: '/v1/files',
      query: 'purpose=batch',
      provider_credential_headers: ['authorization'],
      body: { hello: 'world' },
    });
    const get = await call(bifrost.url, 'DELETE', '/anthropic_passthrough/v1/files/file_1', undefined, { 'x-bf-vk': VK });
    expect(get.json).toMatchObject({ provider: 'anthropic', method: 'DELETE', path: '/v1/files/file_1', body: '' });
  });
});

describe('bad requests', () => {
  it('invalid JSON answers 400 in each family\'s error dialect', async () => {
    const openai = await call(bifrost.url, 'POST', '/v1/chat/completions', '{"model": "gpt-4o", ', jsonHeaders());
    expect(openai.status).toBe(400);
    expectFits(openai.json, schemaOf('/v1/chat/completions', 'post', '400'));
    expect(openai.json).toMatchObject({ is_bifrost_error: false, status_code: 400, error: { message: expect.stringContaining('JSON') } });

    const anthropic = await call(bifrost.url, 'POST', '/anthropic/v1/messages', 'not json', jsonHeaders());
    expect(anthropic.status).toBe(400);
    expectFits(anthropic.json, schemaOf('/anthropic/v1/messages', 'post', '400'));
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'invalid_request' } });

    const gemini = await call(bifrost.url, 'POST', '/genai/v1beta/models/gemini-2.5-flash:generateContent', '[', jsonHeaders());
    expect(gemini.status).toBe(400);
    expectFits(gemini.json, schemaOf('/genai/v1beta/models/{model}:generateContent', 'post', '400'));
    expect(gemini.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });

  it('a body without a model answers 400', async () => {
    const r = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', { messages: [] }, jsonHeaders());
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ status_code: 400, error: { message: 'model is required' } });
  });

  it('an empty body answers 400', async () => {
    const r = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', undefined, { 'x-bf-vk': VK });
    expect(r.status).toBe(400);
  });

  it('an unknown route answers 404, a wrong method 405 (GET /v1/responses is the unimplemented WebSocket mode)', async () => {
    const missing = await call(bifrost.url, 'GET', '/openai/v1/nothing-here', undefined, { 'x-bf-vk': VK });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ status_code: 404, type: 'not_found' });
    const ws = await call(bifrost.url, 'GET', '/v1/responses', undefined, { 'x-bf-vk': VK });
    expect(ws.status).toBe(405);
    expect(ws.headers.get('allow')).toBe('POST');
    expect(ws.json).toMatchObject({ error: { message: expect.stringContaining('WebSocket') } });
  });
});

import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../../src/providers/catalog.js';
import { openAICompatibleAdapter as adapter } from '../../src/providers/openai-compatible.js';
import { expectParsed, expectPathsPointAtStrings, req } from './support.js';

/** Which OpenAI-shaped POSTs are read, which pass unread, and which are unknown (refused on API hosts). */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const surface = (host: string): SurfaceEntry => catalog.match(host)!;

function recognize(method: string, host: string, path: string, headers: Record<string, string> = {}) {
  return adapter.recognize(req(method, host, path, headers), surface(host));
}

function parse(method: string, host: string, path: string, body: unknown) {
  const entry = surface(host);
  const route = adapter.recognize(req(method, host, path), entry);
  if (!route) throw new Error(`${method} ${path} not recognised on ${host}`);
  return adapter.parse(route, body, entry);
}

describe('the Responses API', () => {
  it.each([
    ['POST', '/v1/responses/compact', 'responses.compact', true],
    ['POST', '/v1/responses/resp_1/cancel', 'responses', false],
    ['GET', '/v1/responses/resp_1', 'responses', false],
    ['DELETE', '/v1/responses/resp_1', 'responses', false],
    ['GET', '/v1/responses/resp_1/input_items', 'responses', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.openai.com', path)).toMatchObject({ operation, inspected });
  });

  it.each([
    '/v1/responses/resp_1',
    '/v1/responses/resp_1/summarize',
    '/v1/responses/compact/extra',
  ])('POST %s is no documented route, so the host\'s unknown-route rule decides it', (path) => {
    expect(recognize('POST', 'api.openai.com', path)).toBeUndefined();
  });

  it('reads compaction like a response: instructions and input items, each path pointing at its string', () => {
    const body = { model: 'gpt-5-codex', instructions: 'You are Codex.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] }] };
    const request = expectParsed(parse('POST', 'api.openai.com', '/v1/responses/compact', body));
    expect(request).toMatchObject({ operation: 'responses.compact', model: 'gpt-5-codex', inspected: true });
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([['system', 'You are Codex.'], ['user', 'fix the build']]);
    expectPathsPointAtStrings(body, request);
  });
});

describe('Mistral\'s Conversations API (api.mistral.ai)', () => {
  it.each([
    ['POST', '/v1/conversations', 'conversations.start', true],
    ['POST', '/v1/conversations/conv_1', 'conversations.append', true],
    ['POST', '/v1/conversations/conv_1/restart', 'conversations.restart', true],
    ['GET', '/v1/conversations', 'conversations', false],
    ['GET', '/v1/conversations/conv_1/history', 'conversations', false],
    ['DELETE', '/v1/conversations/conv_1', 'conversations', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.mistral.ai', path)).toMatchObject({ operation, inspected });
  });

  it('an undocumented POST under conversations/ is not recognised, on Mistral and on OpenAI', () => {
    expect(recognize('POST', 'api.mistral.ai', '/v1/conversations/conv_1/items')).toBeUndefined();
    expect(recognize('POST', 'api.openai.com', '/v1/conversations/conv_1/restart')).toBeUndefined();
  });

  it('start: instructions, inputs entries of every kind, tool definitions; the model, or null for an agent', () => {
    const body = {
      model: 'mistral-medium-latest',
      instructions: 'You are a support agent.',
      stream: true,
      inputs: [
        { role: 'user', content: 'My card is declined.' },
        { type: 'message.input', role: 'user', content: [{ type: 'text', text: 'Card 4111.' }, { type: 'image_url', image_url: 'https://x/y.png' }] },
        { type: 'message.output', content: 'Let me check.' },
        { type: 'function.call', tool_call_id: 'call_1', name: 'lookup_card', arguments: '{"last4":"4111"}' },
        { type: 'function.result', tool_call_id: 'call_1', result: 'blocked by fraud check' },
        { tool_call_id: 'call_2', name: 'notify', arguments: { channel: 'email' } },
        { type: 'agent.handoff', previous_agent_id: 'a', next_agent_id: 'b' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup_card', parameters: {} } }, { type: 'web_search' }],
    };
    const request = expectParsed(parse('POST', 'api.mistral.ai', '/v1/conversations', body));
    expect(request).toMatchObject({ provider: 'mistral', operation: 'conversations.start', model: 'mistral-medium-latest', stream: true, inspected: true });
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([
      ['system', 'You are a support agent.'],
      ['user', 'My card is declined.'],
      ['user', 'Card 4111.'],
      ['assistant', 'Let me check.'],
      ['tool_arguments', '{"last4":"4111"}'],
      ['tool_result', 'blocked by fraud check'],
      ['tool_arguments', 'email'],
    ]);
    expect(request.tools.map((t) => [t.kind, t.name])).toEqual([['call', 'lookup_card'], ['call', 'notify'], ['result', 'lookup_card'], ['definition', 'lookup_card']]);
    expectPathsPointAtStrings(body, request);
    expect(expectParsed(parse('POST', 'api.mistral.ai', '/v1/conversations', { agent_id: 'ag_1', inputs: 'hi' })).model).toBeNull();
  });

  it.each([
    ['append', '/v1/conversations/conv_1', 'conversations.append'],
    ['restart', '/v1/conversations/conv_1/restart', 'conversations.restart'],
  ])('%s reads its inputs; the route names no model', (_name, path, operation) => {
    const body = { inputs: 'And my other card?', from_entry_id: 'msg_1' };
    const request = expectParsed(parse('POST', 'api.mistral.ai', path, body));
    expect(request).toMatchObject({ operation, model: null, texts: [{ path: ['inputs'], text: 'And my other card?', kind: 'user' }] });
  });

  it('a bad inputs gives a 400 naming the field', () => {
    const result = parse('POST', 'api.mistral.ai', '/v1/conversations/conv_1', { inputs: 42 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/inputs must be a string or an array of conversation entries, got a number/);
  });
});

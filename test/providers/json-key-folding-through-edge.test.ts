import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayModeEdge, type GatewayModeEdge } from '../support/gateway-mode-edge.js';

/**
 * Gateway mode through a real Edge process: Edge forwards the client's own bytes to the Bifrost gateway, which reads
 * keys regardless of letter case. A body whose keys the gateway would read otherwise than Edge is refused before it
 * leaves the laptop; a body with user-chosen keys of any case in its schemas and tool arguments still goes through.
 */

const KEY = 'sk-bf-folding-0001';
const SECRET = 'AKIAIOSFODNN7EXAMPLE';

let gateway: GatewayModeEdge;

beforeAll(async () => {
  gateway = await startGatewayModeEdge(KEY);
});

afterAll(async () => {
  await gateway?.close();
});

async function post(url: string, body: unknown) {
  const res = await gateway.postJson(url, JSON.stringify(body));
  return { ...res, gatewaySawSecret: gateway.standin.received.some((r) => r.body.includes(SECRET)) };
}

const OPENAI_CHAT = 'https://api.openai.com/v1/chat/completions';
const OPENAI_RESPONSES = 'https://api.openai.com/v1/responses';
const ANTHROPIC = 'https://api.anthropic.com/v1/messages';
const GEMINI = 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent';

describe('keys the gateway would read otherwise than Edge never reach it', () => {
  it.each([
    ['OpenAI chat, messages and MESSAGES', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], MESSAGES: [{ role: 'user', content: SECRET }] }],
    ['OpenAI chat, only Messages', OPENAI_CHAT, { model: 'gpt-4o', messages: [], Messages: [{ role: 'user', content: SECRET }] }],
    ['OpenAI chat, a message\'s Content', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi', Content: SECRET }] }],
    ['OpenAI chat, meſſages', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], 'me\u017f\u017fages': [{ role: 'user', content: SECRET }] }],
    ['Responses, Input', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', Input: SECRET }],
    ['Responses, text.format.Schema', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', text: { format: { type: 'json_schema', name: 'x', Schema: { type: 'object', description: SECRET } } } }],
    ['Responses, text.Format', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', text: { Format: { type: 'json_schema', name: 'x', schema: { type: 'object', description: SECRET } } } }],
    ['OpenAI chat, response_format.json_schema.Schema', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'x', Schema: { description: SECRET } } } }],
    ['Anthropic, output_config.format.Schema', ANTHROPIC, { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], output_config: { format: { type: 'json_schema', Schema: { description: SECRET } } } }],
    ['Gemini, generationConfig.ResponseSchema', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { ResponseSchema: { description: SECRET } } }],
    ['Anthropic, a text block\'s Text', ANTHROPIC, { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', Text: SECRET }] }] }],
    ['Gemini, Contents', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], Contents: [{ parts: [{ text: SECRET }] }] }],
  ])('%s: 400, the gateway is not reached', async (_name, url, body) => {
    const res = await post(url, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/regardless of letter case/);
    expect(res.body).not.toContain(SECRET);
    expect(res.gatewayReached).toBe(false);
  });
});

describe('user-chosen keys of any case in free-form maps pass', () => {
  const schema = { type: 'object', properties: { Content: { type: 'string' }, Text: { type: 'string' } }, required: ['Content'] };

  it.each([
    ['OpenAI chat, a tool with a Content property', OPENAI_CHAT, {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'save a note' }],
      tools: [{ type: 'function', function: { name: 'save_note', parameters: schema } }],
      metadata: { Title: 'notes' },
    }, '/openai/v1/chat/completions'],
    ['Responses, a function tool with a Text property', OPENAI_RESPONSES, {
      model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: 'save a note' }] }], tools: [{ type: 'function', name: 'save_note', parameters: schema }],
    }, '/openai/v1/responses'],
    ['Anthropic, tool_use input with Text and text', ANTHROPIC, {
      model: 'claude-haiku-4-5',
      max_tokens: 16,
      tools: [{ name: 'save_note', input_schema: schema }],
      messages: [
        { role: 'user', content: 'save a note' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'save_note', input: { Text: 'a', text: 'b' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'saved' }] },
      ],
    }, '/anthropic/v1/messages'],
    ['Gemini, function args with Content and content', GEMINI, {
      contents: [
        { role: 'user', parts: [{ text: 'save a note' }] },
        { role: 'model', parts: [{ functionCall: { name: 'save_note', args: { Content: 'a', content: 'b' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'save_note', response: { Result: 'saved' } } }] },
      ],
      tools: [{ functionDeclarations: [{ name: 'save_note', parameters: schema }] }],
    }, '/genai/v1beta/models/gemini-2.0-flash:generateContent'],
  ])('%s', async (_name, url, body, gatewayPath) => {
    const res = await post(url, body);
    expect(res.status, res.body).toBe(200);
    const seen = await gateway.standin.waitForRequest((r) => r.path === gatewayPath);
    // The client's own bytes, keys as it wrote them.
    expect(seen.json).toEqual(body);
  });
});

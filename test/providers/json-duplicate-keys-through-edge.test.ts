import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayModeEdge, type GatewayModeEdge } from '../support/gateway-mode-edge.js';

/**
 * Gateway mode through a real Edge process: Edge forwards the client's own bytes, and the Bifrost gateway (Go) decodes
 * a repeated object key into the first one where JSON.parse kept only the last. A body with a key twice is refused
 * before it leaves the laptop, the secret Edge could not see with it; bodies without one arrive byte-identical.
 */

const KEY = 'sk-bf-duplicates-0001';
// The default secrets guardrail blocks a GitHub token that Edge sees.
const SECRET = 'ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo';

let gateway: GatewayModeEdge;

beforeAll(async () => {
  gateway = await startGatewayModeEdge(KEY);
});

afterAll(async () => {
  await gateway?.close();
});

const post = (url: string, text: string) => gateway.postJson(url, text);

const OPENAI_CHAT = 'https://api.openai.com/v1/chat/completions';
const OPENAI_RESPONSES = 'https://api.openai.com/v1/responses';
const GEMINI = 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent';

describe('a body with a key twice never reaches the gateway', () => {
  it.each([
    [
      'Gemini, systemInstruction twice (Go merges the parts of the first into the second)',
      GEMINI,
      `{"model":"gemini-2.0-flash","contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"deploy with ${SECRET}"}]},"systemInstruction":{"role":"system"}}`,
      /has the key systemInstruction twice/,
    ],
    [
      'Responses, prompt twice (the variables in the first)',
      OPENAI_RESPONSES,
      `{"model":"gpt-4o","input":"hi","prompt":{"id":"pmpt_1","variables":{"v":"${SECRET}"}},"prompt":{"id":"pmpt_1"}}`,
      /has the key prompt twice/,
    ],
    ['OpenAI chat, a message\'s content twice', OPENAI_CHAT, `{"model":"gpt-4o","messages":[{"role":"user","content":"${SECRET}","content":"hi"}]}`, /has the key messages\[0\]\.content twice/],
  ])('%s: 400, the gateway is not reached', async (_name, url, text, message) => {
    const res = await post(url, text);
    expect(res.status, res.body).toBe(400);
    expect(res.body).toMatch(message);
    expect(res.body).not.toContain(SECRET);
    expect(res.gatewayReached).toBe(false);
  });

  it('the same secret sent once is found by Edge (the guardrail sees what it can read)', async () => {
    const res = await post(OPENAI_CHAT, JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `deploy with ${SECRET}` }] }));
    expect(res.status).toBe(446);
    expect(res.gatewayReached).toBe(false);
  });
});

describe('bodies without a repeated key go through byte-identical', () => {
  it.each([
    ['OpenAI chat, equal keys in sibling messages and a schema with Text and text', OPENAI_CHAT, {
      model: 'gpt-4o',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'save a note' }, { type: 'text', text: 'now' }] }],
      tools: [{ type: 'function', function: { name: 'save_note', parameters: { type: 'object', properties: { Text: { type: 'string' }, text: { type: 'string' } } } } }],
      metadata: { Title: 'notes', title: 'n' },
    }, '/openai/v1/chat/completions'],
    ['Gemini, system instruction and function args with Name and name', GEMINI, {
      contents: [
        { role: 'user', parts: [{ text: 'save a note' }] },
        { role: 'model', parts: [{ functionCall: { name: 'save_note', args: { Name: 'a', name: 'b' } } }] },
      ],
      systemInstruction: { parts: [{ text: 'be brief' }] },
    }, '/genai/v1beta/models/gemini-2.0-flash:generateContent'],
  ])('%s', async (_name, url, body, gatewayPath) => {
    const text = JSON.stringify(body);
    const res = await post(url, text);
    expect(res.status, res.body).toBe(200);
    const seen = await gateway.standin.waitForRequest((r) => r.path === gatewayPath);
    expect(seen.body).toBe(text);
  });
});

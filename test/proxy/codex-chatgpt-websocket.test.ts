import { expect, it } from 'vitest';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * Codex signed in with ChatGPT opens its Responses WebSocket on chatgpt.com's Codex API
 * (`wss://chatgpt.com/backend-api/codex/responses`, codex-rs's responses_websocket.rs), with the same
 * `response.create` events as api.openai.com's `/v1/responses`: its messages are read with the same reader, so
 * a secret in a turn is refused with the API's error event and each turn is recorded. Other chatgpt.com
 * WebSockets stay unread.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;

const agent = () => websocketDecisionAgent({ inspectors: [defaultGuardrails()] });

/** A turn as codex-rs sends it (ResponseCreateWsRequest). */
const codexTurn = (text: string) => Buffer.from(JSON.stringify({
  type: 'response.create', model: 'gpt-5.1-codex', instructions: 'You are Codex.',
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
  tools: [], tool_choice: 'auto', parallel_tool_calls: false, store: false, stream: true, include: [],
  prompt_cache_key: 'thread-1', client_metadata: { 'x-codex-window-id': 'w1' },
}));

it('chatgpt.com\'s Codex Responses WebSocket is read like api.openai.com\'s: a secret in a turn is refused, each turn recorded', async () => {
  const { decide, records } = agent();
  const opened = await decide({ host: 'chatgpt.com', path: '/backend-api/codex/responses', headers: { 'user-agent': 'codex_cli_rs/0.60.0' } });
  expect(opened.action).toBe('allow');
  const messages = opened.action === 'allow' ? opened.messages : undefined;
  expect(messages).toBeDefined();

  const allowed = await messages!.inspect(codexTurn('list the files'), false);
  expect(allowed).toEqual({ action: 'forward', handedOver: expect.any(Function) });
  // As the relay says once it handed the turn to an open upstream: only then is it counted and recorded.
  if (allowed.action === 'forward') await allowed.handedOver?.({ sent: true });
  const refused = await messages!.inspect(codexTurn(`push with ${SECRET}`), false);
  expect(refused.action).toBe('reply');
  const event = JSON.parse(String(refused.action === 'reply' ? refused.data : '')) as { type: string; error: { type: string } };
  expect(event).toMatchObject({ type: 'error', error: { type: 'guardrail_blocked' } });
  expect(records.map((r) => [r.host, r.path, r.model, r.decision])).toEqual([
    ['chatgpt.com', '/backend-api/codex/responses', 'gpt-5.1-codex', 'forwarded'],
    ['chatgpt.com', '/backend-api/codex/responses', 'gpt-5.1-codex', 'blocked'],
  ]);
});

it('other chatgpt.com WebSockets are relayed unread, as before', async () => {
  const { decide } = agent();
  const opened = await decide({ host: 'chatgpt.com', path: '/backend-api/conversation/ws', headers: {} });
  expect(opened).toMatchObject({ action: 'allow' });
  expect(opened.action === 'allow' ? opened.messages : 'blocked').toBeUndefined();
});

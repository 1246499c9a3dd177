import { expect, it } from 'vitest';
import type { WebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';
import { usageNote } from '../../src/proxy/usage-note.js';
import { bundle, info, request } from '../policy/support.js';
import { websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * A Responses turn sent upstream holds its prompt's estimated tokens in the key's windows until its answer ends, as
 * an HTTP request does while it is answered, so turns decided meanwhile count it; and gives them back however its
 * socket ends: answered (its reported usage charged instead), or closed before its answer came (Edge's estimate
 * charged, as for an HTTP request the client abandoned). Nothing stays held once the sockets are closed.
 */

/** An enforcer whose key may use 6,000 tokens an hour, and the WebSocket decision wired to it as the agent wires it. */
function agent() {
  const { enforcer, decide, records } = websocketDecisionAgent({
    bundle: bundle({}, { rate_limit: { token_max_limit: 6000, token_reset_duration: '1h' } }),
    deps: (policy) => ({ charge: (req, usage) => usageNote(policy.recordResponseUsage(req, usage)) }),
  });
  /** An HTTP request decided now: refused while what is held and charged reaches the limit. */
  const probe = () => enforcer.inspector()({ request: request({ model: 'gpt-4o' }), body: {}, info: info('api.openai.com'), app: 'probe' });
  return { decide, records, probe, status: () => enforcer.status() };
}

const message = (value: unknown) => Buffer.from(JSON.stringify(value));
/** 4,400 characters: Edge estimates 1,100 tokens. */
const turn = message({ type: 'response.create', model: 'gpt-4o', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'x'.repeat(4400) }] }] });
const completed = message({ type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage: { input_tokens: 60, output_tokens: 40, total_tokens: 100 } } });

it('turns hold their estimate while answered, and nothing stays held once their sockets close, answered or not', async () => {
  const { decide, records, probe } = agent();
  const sockets: WebSocketMessageInspector[] = [];
  for (let i = 0; i < 6; i++) {
    const opened = await decide({ host: 'api.openai.com', path: '/v1/responses', headers: {} });
    const messages = opened.action === 'allow' ? opened.messages! : undefined;
    const allowed = await messages!.inspect(turn, false);
    expect(allowed).toEqual({ action: 'forward', handedOver: expect.any(Function) });
    // As the relay says once it handed the turn to an open upstream: only then does it count and hold its estimate.
    if (allowed.action === 'forward') await allowed.handedOver?.({ sent: true });
    sockets.push(messages!);
  }
  // Six turns being answered hold 6,600 tokens of the key's 6,000.
  const whileAnswered = await probe();
  expect(whileAnswered).toMatchObject({ action: 'block', error: { type: 'token_limited' } });
  expect(whileAnswered.action === 'block' && whileAnswered.error.message).toContain('held by requests still being answered');

  // Three are answered (100 tokens each, as reported); three sockets close before their answers come.
  for (const socket of sockets.slice(0, 3)) await socket.serverMessage(completed);
  await Promise.all(sockets.map((socket) => socket.closed()));

  // Charged: 300 reported, 3 × 1,100 estimated; held: nothing. A leaked hold would refuse this.
  expect(await probe()).toEqual({ action: 'allow' });
  expect(records.filter((r) => r.usage).map((r) => r.usage)).toEqual([
    { input_tokens: 60, output_tokens: 40 }, { input_tokens: 60, output_tokens: 40 }, { input_tokens: 60, output_tokens: 40 },
  ]);
  expect(records.filter((r) => r.estimatedUsage).map((r) => r.estimatedUsage!.input_tokens)).toEqual([1100, 1100, 1100]);

  // Closing again, or an answer after the close, charges and frees nothing twice.
  await Promise.all(sockets.map((socket) => socket.closed()));
  expect(sockets[4]!.serverMessage(completed)).toBeUndefined();
  expect(records.filter((r) => r.usage || r.estimatedUsage)).toHaveLength(6);
});

it('a server message Edge cannot parse, or one without usage, is charged nothing', async () => {
  const { decide, records } = agent();
  const opened = await decide({ host: 'api.openai.com', path: '/v1/realtime?model=gpt-4o-realtime', headers: {} });
  const messages = opened.action === 'allow' ? opened.messages! : undefined;
  expect(messages!.serverMessage(Buffer.from('{"type":"response.done","response":{"usage":{"total_tokens":9'))).toBeUndefined();
  expect(messages!.serverMessage(message({ type: 'response.output_audio.delta', delta: 'c2FnZQ==' }))).toBeUndefined();
  expect(messages!.serverMessage(message({ type: 'response.done', response: { usage: null } }))).toBeUndefined();
  const charged = messages!.serverMessage(message({ type: 'response.done', response: { usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 } } }));
  expect(await charged).toBeUndefined();
  expect(records.filter((r) => r.usage).map((r) => [r.model, r.usage])).toEqual([['gpt-4o-realtime', { input_tokens: 10, output_tokens: 5 }]]);
});

import { afterEach, expect, it } from 'vitest';
import { MAX_METERED_MESSAGE_BYTES, readServerUsage } from '../../src/proxy/websocket-usage.js';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A server message over the size Edge parses whole (an answer with top_logprobs, generated images) may still end
 * a turn or report usage: its type is read from its start and its usage from its end, where the servers put them.
 * A turn end whose usage cannot be read is charged Edge's estimate; it never stays queued, which would charge
 * every later turn on the socket to the turn before it.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const PAD = 'y'.repeat(MAX_METERED_MESSAGE_BYTES + 1024);
const completed = (id: string, model: string, usage: unknown, pad = '') => message({
  type: 'response.completed', sequence_number: 9,
  response: { id, object: 'response', model, status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer', logprobs: [{ token: 'x', pad }] }] }], usage },
});

it('a Responses turn whose answer is over the size parsed whole is charged its usage, and later turns their own', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 10_000_000, token_reset_duration: '1h' } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('o1-pro', 'big one'));
  socket.serverMessage(message({ type: 'response.created', response: { id: 'A', status: 'in_progress', usage: null } }));
  const big = completed('A', 'o1-pro', { input_tokens: 50000, output_tokens: 100000, total_tokens: 150000 }, PAD);
  expect(big.length).toBeGreaterThan(MAX_METERED_MESSAGE_BYTES);
  await socket.serverMessage(big);

  // One whose usage cannot be read (here: reported as null) is charged Edge's estimate of its prompt.
  await agent.send(socket, responsesTurn('gpt-4.1', 'z'.repeat(400)));
  socket.serverMessage(message({ type: 'response.created', response: { id: 'C', status: 'in_progress', usage: null } }));
  await socket.serverMessage(completed('C', 'gpt-4.1', null, PAD));

  await agent.send(socket, responsesTurn('gpt-4o-mini', 'small'));
  socket.serverMessage(message({ type: 'response.created', response: { id: 'B', status: 'in_progress', usage: null } }));
  await socket.serverMessage(completed('B', 'gpt-4o-mini', { input_tokens: 10, output_tokens: 10, total_tokens: 20 }));
  await socket.closed();

  expect(agent.records.filter((r) => r.usage || r.estimatedUsage).map((r) => [r.model, r.usage ?? { estimated: r.estimatedUsage!.input_tokens }])).toEqual([
    ['o1-pro', { input_tokens: 50000, output_tokens: 100000 }],
    ['gpt-4.1', { estimated: 100 }],
    ['gpt-4o-mini', { input_tokens: 10, output_tokens: 10 }],
  ]);
});

it('a Realtime response.done and a Gemini Live message over the size parsed whole are read for their usage', () => {
  const done = message({ type: 'response.done', response: { id: 'r', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: PAD }] }], usage: { total_tokens: 30, input_tokens: 20, output_tokens: 10 } } });
  expect(readServerUsage('openai-realtime', done)).toMatchObject({ kind: 'usage', usage: { inputTokens: 20, outputTokens: 10 } });
  const live = message({ serverContent: { modelTurn: { parts: [{ text: PAD }] }, turnComplete: true }, usageMetadata: { promptTokenCount: 7, responseTokenCount: 3, totalTokenCount: 10 } });
  expect(readServerUsage('gemini-live', live)).toMatchObject({ kind: 'usage', usage: { inputTokens: 7, outputTokens: 3 } });
});

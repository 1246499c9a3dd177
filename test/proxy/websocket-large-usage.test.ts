import { afterEach, expect, it } from 'vitest';
import { MAX_METERED_MESSAGE_BYTES, readServerUsage } from '../../src/proxy/websocket-usage.js';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A server message too large to parse whole has its usage read from its end. OpenAI writes the response's `user` and
 * `metadata` after its `usage`, and metadata is the client's own: a `"usage"` there (a value, a key) must not hide the
 * report. The usage read is the response object's own, at its depth, not simply the last `"usage"` in the message.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const IMAGE = 'A'.repeat(MAX_METERED_MESSAGE_BYTES + 1024);
const usage = { input_tokens: 1000, output_tokens: 30000, total_tokens: 31000 };
const big = (type: string, metadata: unknown) => message({
  type, sequence_number: 9,
  response: { id: 'resp_big', object: 'response', status: 'completed', model: 'gpt-4.1', output: [{ type: 'image_generation_call', id: 'ig_1', status: 'completed', result: IMAGE }], usage, user: null, metadata },
});

it('a client\'s "usage" in the metadata after the report does not hide it', () => {
  const expected = { usage: { inputTokens: 1000, outputTokens: 30000 } };
  for (const metadata of [{ tag: 'usage' }, { usage: 'high' }, { note: '"usage":{"input_tokens":1,"output_tokens":1}' }, { usage: { input_tokens: 1, output_tokens: 1 } }]) {
    expect(readServerUsage('openai-responses', big('response.completed', metadata)), JSON.stringify(metadata)).toMatchObject({ kind: 'turn-ended', ...expected });
    expect(readServerUsage('openai-realtime', big('response.done', metadata)), JSON.stringify(metadata)).toMatchObject({ kind: 'usage', ...expected });
  }
});

it('the turn is charged the usage its server reported, not Edge\'s estimate', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 100, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('gpt-4.1', 'draw a cat'));
  await socket.serverMessage(message({ type: 'response.created', response: { id: 'resp_big', model: 'gpt-4.1', status: 'in_progress' } }));
  await socket.serverMessage(big('response.completed', { tag: 'usage' }));
  await socket.closed();
  expect(agent.records.filter((r) => r.usage || r.estimatedUsage).map((r) => [r.model, r.usage])).toEqual([['gpt-4.1', { input_tokens: 1000, output_tokens: 30000 }]]);
});

import { afterEach, expect, it } from 'vitest';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A Responses turn whose answer ends without usage (`usage: null`, as a gateway or a provider may send it) was
 * still read and answered by the provider: it is charged Edge's estimate, the prompt and the answer text the end
 * event carries, as an HTTP stream that reported no usage is (enforcer.meterResponse), and as the same turn would
 * be if its socket closed before the answer.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const tokensUsed = (a: MeteringAgent) => a.enforcer.status().rateLimits.find((limit) => limit.metric === 'tokens')?.used;

it('a turn answered without usage is charged Edge\'s estimate', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 100000, token_reset_duration: '1h' } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  // 40,000 characters of prompt: 10,000 tokens; 20,000 of answer: 5,000.
  expect(await agent.send(socket, responsesTurn('gpt-4o', 'x'.repeat(40000)))).toBe('forward');
  socket.serverMessage(message({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress', usage: null } }));
  await socket.serverMessage(message({
    type: 'response.completed',
    response: { id: 'resp_1', status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'y'.repeat(20000) }] }], usage: null },
  }));
  expect(tokensUsed(agent)).toBe(15000);
  expect(agent.records.filter((r) => r.estimatedUsage).map((r) => [r.model, r.estimatedUsage])).toEqual([
    ['gpt-4o', { input_tokens: 10000, output_tokens: 5000, costUsd: 0.075 }],
  ]);
  // Nothing stays held, nothing is charged twice at the close.
  await socket.closed();
  expect(tokensUsed(agent)).toBe(15000);
});

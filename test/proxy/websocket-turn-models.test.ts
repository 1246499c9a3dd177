import { afterEach, expect, it } from 'vitest';
import { estimateCost, lookupPrice } from '../../src/policy/pricing.js';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A Responses response is tied to the waiting turn that asked for the model it runs on: the same name, or that name
 * with a release suffix the server added (`o3-pro-2025-06-10` for `o3-pro`). A model whose name merely starts with
 * another's is another model (`o3-pro` is not `o3`, and costs ten times more), and of two turns whose names both
 * fit, the one that asked for the longer name gets it.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const created = (id: string, model: string) => message({ type: 'response.created', response: { id, model, status: 'in_progress', usage: null } });
const completed = (id: string, model: string, tokens: number) =>
  message({ type: 'response.completed', response: { id, model, status: 'completed', usage: { input_tokens: tokens / 2, output_tokens: tokens / 2, total_tokens: tokens } } });
const charged = (a: MeteringAgent) => a.records.filter((r) => r.usage).map((r) => [r.model, r.costUsd]);

it('a response on o3-pro is not tied to a waiting o3 turn', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 1000, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('o3', 'first'));
  await agent.send(socket, responsesTurn('o3-pro', 'second'));
  // The o3 turn is refused; its refusal names no response.
  await socket.serverMessage(message({ type: 'error', code: 'invalid_request_error', message: 'Unsupported parameter', param: 'temperature', sequence_number: 0 }));
  await socket.serverMessage(created('resp_B', 'o3-pro-2025-06-10'));
  await socket.serverMessage(completed('resp_B', 'o3-pro-2025-06-10', 200000));
  await socket.closed();
  const usage = { inputTokens: 100000, outputTokens: 100000, totalTokens: 200000, cachedInputTokens: 0, reasoningTokens: 0 };
  expect(charged(agent)).toEqual([['o3-pro', estimateCost(usage, lookupPrice('openai', 'o3-pro').price)]]);
});

it('of two waiting turns a response fits, the one that asked for the longer name gets it', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 1000, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('gpt-4o', 'first'));
  await agent.send(socket, responsesTurn('gpt-4o-2024-11-20', 'second'));
  await socket.serverMessage(created('resp_B', 'gpt-4o-2024-11-20'));
  await socket.serverMessage(completed('resp_B', 'gpt-4o-2024-11-20', 2000));
  await socket.serverMessage(created('resp_A', 'gpt-4o-2024-08-06'));
  await socket.serverMessage(completed('resp_A', 'gpt-4o-2024-08-06', 4000));
  await socket.closed();
  expect(charged(agent).map(([model]) => model)).toEqual(['gpt-4o-2024-11-20', 'gpt-4o']);
  expect(agent.records.filter((r) => r.usage).map((r) => r.usage!.input_tokens + r.usage!.output_tokens)).toEqual([2000, 4000]);
});

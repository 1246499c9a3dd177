import { afterEach, expect, it } from 'vitest';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A response's usage on a Responses socket is never dropped for want of a turn to charge it to. An `error` with a
 * `sequence_number` during a response is an event of that response's stream, so it does not settle the turn queued
 * behind it as refused; and a response.created or turn end that finds no turn is charged to the turn it most likely
 * belongs to (one taken as refused, on its model, else the turn answered last).
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const created = (id: string, model: string) => message({ type: 'response.created', response: { id, model, status: 'in_progress', usage: null } });
const ended = (type: string, id: string, model: string, input: number, output: number) =>
  message({ type, response: { id, model, status: type.slice('response.'.length), usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } } });
const charged = (a: MeteringAgent) => a.records.filter((r) => r.usage || r.estimatedUsage).map((r) => [r.model, r.usage ? r.usage.input_tokens + r.usage.output_tokens : `estimated ${r.estimatedUsage!.input_tokens}`]);

it('an error inside the running response does not discard the usage of the turn queued behind it', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 1000, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('gpt-4.1-nano', 'first'));
  await agent.send(socket, responsesTurn('o1-pro', 'second'));
  await socket.serverMessage(created('resp_A', 'gpt-4.1-nano-2025-04-14'));
  await socket.serverMessage(message({ type: 'error', code: 'server_error', message: 'The server had an error while processing your request', param: null, sequence_number: 3 }));
  await socket.serverMessage(ended('response.failed', 'resp_A', 'gpt-4.1-nano-2025-04-14', 10, 0));
  await socket.serverMessage(created('resp_B', 'o1-pro-2025-03-19'));
  await socket.serverMessage(ended('response.completed', 'resp_B', 'o1-pro-2025-03-19', 100000, 100000));
  await socket.closed();
  expect(charged(agent)).toEqual([['gpt-4.1-nano', 10], ['o1-pro', 200000]]);
  // o1-pro: $150 / $600 per Mtok.
  expect(agent.enforcer.status().budgets[0]!.usedUsd).toBeCloseTo(75, 4);
});

it('a response that finds no turn waiting is charged to the turn taken as refused, on its model', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 1000, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('o1-pro', 'first'));
  await agent.send(socket, responsesTurn('gpt-4.1-nano', 'second'));
  // An error naming no response, which Edge takes for a refusal of the turn still waiting once the first starts.
  await socket.serverMessage(message({ type: 'error', status: 429, error: { type: 'rate_limit_error', message: 'slow down' } }));
  await socket.serverMessage(created('resp_A', 'o1-pro-2025-03-19'));
  await socket.serverMessage(ended('response.completed', 'resp_A', 'o1-pro-2025-03-19', 100, 100));
  // The second turn was answered after all.
  await socket.serverMessage(created('resp_B', 'gpt-4.1-nano-2025-04-14'));
  await socket.serverMessage(ended('response.completed', 'resp_B', 'gpt-4.1-nano-2025-04-14', 5000, 5000));
  await socket.closed();
  expect(charged(agent)).toEqual([['o1-pro', 200], ['gpt-4.1-nano', 10000]]);
});

it('a turn end that finds no turn at all is charged to the turn answered last', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 1000, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('gpt-4o', 'first'));
  await socket.serverMessage(created('resp_A', 'gpt-4o'));
  await socket.serverMessage(ended('response.completed', 'resp_A', 'gpt-4o', 100, 100));
  // A response Edge saw no start of, for no turn it knows of: its tokens were billed all the same.
  await socket.serverMessage(ended('response.completed', 'resp_X', 'gpt-4o', 3000, 3000));
  await socket.closed();
  expect(charged(agent)).toEqual([['gpt-4o', 200], ['gpt-4o', 6000]]);
});

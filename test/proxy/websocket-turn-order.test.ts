import { afterEach, expect, it } from 'vitest';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * Turns on a Responses socket are tied to their server events by the response's id, not by their order alone: a
 * turn is tied to the response.created naming its model (the first waiting one otherwise), its end found by that
 * response's id. An `error` that names no response refuses one of the turns not yet started; which one is decided
 * once the others have started, and at the close the cheaper are taken as refused (the dearer charged: the safe
 * side). A started turn whose response ended in an error without an end event is charged Edge's estimate when
 * the next response starts (a socket runs one response at a time), not left holding its place.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const created = (id: string, model?: string) => message({ type: 'response.created', response: { id, ...(model ? { model } : {}), status: 'in_progress', usage: null } });
const completed = (id: string, tokens: number) => message({ type: 'response.completed', response: { id, status: 'completed', usage: { input_tokens: tokens / 2, output_tokens: tokens / 2, total_tokens: tokens } } });
const inFlightError = message({ type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'response_already_in_flight', message: 'A response is already in progress' } });
const charged = (a: MeteringAgent) => a.records.filter((r) => r.usage || r.estimatedUsage).map((r) => [r.model, r.usage ? r.usage.input_tokens + r.usage.output_tokens : `estimated ${r.estimatedUsage!.input_tokens}`]);
const tokensUsed = (a: MeteringAgent) => a.enforcer.status().rateLimits.find((limit) => limit.metric === 'tokens')?.used;

it('an error for a pipelined turn arriving before the first turn\'s response.created does not take the first turn\'s place', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 10_000_000, token_reset_duration: '1h' } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('o1-pro', 'expensive task'));
  await agent.send(socket, responsesTurn('gpt-4.1-nano', 'tiny'));
  socket.serverMessage(inFlightError);
  socket.serverMessage(created('resp_A', 'o1-pro-2025-03-19'));
  await socket.serverMessage(completed('resp_A', 200000));
  await socket.closed();
  expect(charged(agent)).toEqual([['o1-pro', 200000]]);
  const cost = agent.records.find((r) => r.usage)!.costUsd!;
  expect(cost).toBeCloseTo(100000 * 150 / 1e6 + 100000 * 600 / 1e6, 6);
});

it('an unattributed refusal left open at the close: the dearer turn is charged Edge\'s estimate, the cheaper taken as refused', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 10_000_000, token_reset_duration: '1h' } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('o1-pro', 'p'.repeat(40)));
  await agent.send(socket, responsesTurn('gpt-4.1-nano', 'n'.repeat(40)));
  socket.serverMessage(inFlightError);
  await socket.closed();
  expect(charged(agent)).toEqual([['o1-pro', 'estimated 10']]);
  expect(tokensUsed(agent)).toBe(10);
});

it('a started turn whose response ended in an error is charged Edge\'s estimate when the next response starts', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 10_000_000, token_reset_duration: '1h' } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  await agent.send(socket, responsesTurn('gpt-4o', 'a'.repeat(400)));
  socket.serverMessage(created('resp_A', 'gpt-4o'));
  socket.serverMessage(message({ type: 'error', status: 500, error: { type: 'server_error', message: 'The server had an error' } }));
  await agent.send(socket, responsesTurn('gpt-4o-mini', 'b'.repeat(40)));
  await socket.serverMessage(created('resp_B', 'gpt-4o-mini'));
  // A's estimate is charged, B's place is held: 100 charged, B's 10 held until its answer.
  await new Promise((resolve) => setImmediate(resolve));
  expect(charged(agent)).toEqual([['gpt-4o', 'estimated 100']]);
  await socket.serverMessage(completed('resp_B', 30));
  expect(charged(agent)).toEqual([['gpt-4o', 'estimated 100'], ['gpt-4o-mini', 30]]);
  await socket.closed();
  expect(tokensUsed(agent)).toBe(130);
  expect(await agent.probe()).toEqual({ action: 'allow' });
});

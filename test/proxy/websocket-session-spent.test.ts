import { afterEach, expect, it } from 'vitest';
import { info, request } from '../policy/support.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A Realtime or Gemini Live session answers without a client message Edge decides (server voice activity
 * detection), so after each charge Edge asks whether the key's token or spend windows are used up and closes the
 * session if so. That question is about those windows only: a request-count limit reached (the session's own
 * opening may have reached it) must not hide a spent budget, and asking must have no side effects: no "blocked"
 * notice while nothing was blocked, no request counted in the app inventory. Only what was charged counts: another
 * request's estimate held while it is answered does not close a session (it is checked at its own decision).
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const REALTIME = '/v1/realtime?model=gpt-4o-realtime-preview';
const done = (tokens: number) => message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: tokens, input_tokens: tokens / 2, output_tokens: tokens / 2 } } });

it('a session whose budget is spent is closed though the key\'s request limit is reached too', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 0.01, reset_duration: '1d' }], rate_limit: { request_max_limit: 1, request_reset_duration: '1h' } });
  const session = await agent.open('api.openai.com', REALTIME);
  // 30,000 tokens of gpt-4o-realtime-preview: $0.375, the $0.01 budget is spent.
  const close = await session.serverMessage(done(30000));
  expect(close).toMatchObject({ code: 1008 });
  expect(close!.reason).toContain("Your key 'eng-team' has used up its $0.01 budget per day");
  expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', status: 402, errorType: 'budget_exceeded', model: 'gpt-4o-realtime-preview' });
});

it('checking a session after each charge publishes no notice and counts no request', async () => {
  agent = meteringAgent({ rate_limit: { request_max_limit: 1, request_reset_duration: '1h', token_max_limit: 1e9, token_reset_duration: '1h' } });
  const session = await agent.open('api.openai.com', REALTIME, { 'user-agent': 'MyVoiceApp/1.0' });
  const before = agent.enforcer.appsInventory().map((app) => [app.app, app.requests]);
  for (let i = 0; i < 10; i++) expect(await session.serverMessage(done(10))).toBeUndefined();
  expect(agent.enforcer.appsInventory().map((app) => [app.app, app.requests])).toEqual(before);
  expect(agent.notices.filter((n) => n.kind === 'blocked')).toEqual([]);
  expect(agent.enforcer.status().lastBlocks).toEqual([]);
});

it('another request\'s estimate held while it is answered does not close a session with tokens left', async () => {
  agent = meteringAgent({ rate_limit: { token_max_limit: 10000, token_reset_duration: '1h' } });
  const session = await agent.open('api.openai.com', REALTIME);
  // An HTTP request with a 9,000-token prompt is being answered: it holds its estimate until settled.
  const big = request({ model: 'gpt-4o', texts: [{ text: 'x'.repeat(36000), path: ['messages', 0, 'content'], kind: 'user' }] });
  expect(await agent.enforcer.inspector()({ request: big, body: {}, info: info('api.openai.com'), app: 'x' })).toEqual({ action: 'allow' });
  expect(await session.serverMessage(done(1000))).toBeUndefined();
  // Once what was charged reaches the limit, it is closed, with the token limit's message.
  const close = await session.serverMessage(done(9000));
  expect(close).toMatchObject({ code: 1008 });
  expect(close!.reason).toContain("Your key 'eng-team' reached its limit of 10,000 tokens per hour (10,000 used)");
  agent.enforcer.settle(big);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type UsageCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { bundle, NOW } from './support.js';

/**
 * Only a request that makes the model generate is charged. Fetching back a stored object (a stored response, a
 * stored chat completion, a Gemini cache) answers with the object, whose usage was billed when it was made:
 * charged again, every poll or TTL update spent the key's budget (at the fallback rates, the route naming no model).
 * A generating request that names no model (a stored prompt) is priced by the model its answer names.
 * The requests are recognised by Edge's own resolver from their method and path, as the proxy recognises them.
 */

let dir: string;
let db: PolicyDatabase;
let enforcer: PolicyEnforcer;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-retrieval-metering-'));
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }, { provider: 'gemini', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 10_000_000, token_reset_duration: '1d' },
    budgets: [{ max_limit: 50, reset_duration: '1d' }],
  }));
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One exchange as the proxy runs it: recognised, decided (allowed), answered with `answer`; what was charged. */
async function exchange(method: string, host: string, target: string, answer: string, contentType = 'application/json', body?: unknown): Promise<UsageCharge | undefined> {
  const charged = await exchangeThroughPolicy(enforcer, { method, host, target, answer, contentType, body });
  expect(charged).not.toBe('refused');
  return charged === 'refused' ? undefined : charged;
}

const spent = () => enforcer.status().budgets.map((b) => b.usedUsd);
const tokensUsed = () => enforcer.status().rateLimits.filter((r) => r.metric === 'tokens').map((r) => r.used);

const storedResponse = { id: 'resp_1', object: 'response', model: 'gpt-4.1-mini-2025-04-14', status: 'completed', output: [], usage: { input_tokens: 200000, output_tokens: 20000, total_tokens: 220000 } };
const storedCompletion = { id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 200000, completion_tokens: 20000, total_tokens: 220000 } };
const cache = { name: 'cachedContents/abc', model: 'models/gemini-2.5-flash', usageMetadata: { totalTokenCount: 500000 }, expireTime: '2025-06-01T13:00:00Z' };

it('retrieving, updating or streaming back a stored object charges nothing, neither spend nor tokens', async () => {
  expect(await exchange('GET', 'api.openai.com', '/v1/responses/resp_1', JSON.stringify(storedResponse))).toBeUndefined();
  expect(await exchange('GET', 'api.openai.com', '/v1/chat/completions/chatcmpl-1', JSON.stringify(storedCompletion))).toBeUndefined();
  expect(await exchange('POST', 'api.openai.com', '/v1/chat/completions/chatcmpl-1', JSON.stringify(storedCompletion))).toBeUndefined();
  expect(await exchange('GET', 'generativelanguage.googleapis.com', '/v1beta/cachedContents/abc', JSON.stringify(cache))).toBeUndefined();
  expect(await exchange('PATCH', 'generativelanguage.googleapis.com', '/v1beta/cachedContents/abc', JSON.stringify(cache))).toBeUndefined();
  // A background response streamed back (`?stream=true`): neither its usage nor Edge's estimate of it.
  const replay = `data: ${JSON.stringify({ type: 'response.completed', response: storedResponse })}\n\n`;
  expect(await exchange('GET', 'api.openai.com', '/v1/responses/resp_1?stream=true', replay, 'text/event-stream')).toBeUndefined();
  expect(spent()).toEqual([0]);
  expect(tokensUsed()).toEqual([0]);
});

it('a request that generates is still charged; one naming no model at the price of the model its answer names', async () => {
  const generated = await exchange('POST', 'api.openai.com', '/v1/responses', JSON.stringify(storedResponse), 'application/json',
    { prompt: { id: 'pmpt_1' }, input: 'hello' });
  // gpt-4.1-mini: $0.40 / $1.60 per Mtok, not the fallback's $15 / $75.
  expect(generated?.priceSource).toBe('built-in:gpt-4.1-mini');
  expect(generated?.costUsd).toBeCloseTo(0.2 * 0.4 + 0.02 * 1.6, 6);
  // Streamed, the model is in the events that carry the usage.
  const stream = `data: ${JSON.stringify({ type: 'response.completed', response: storedResponse })}\n\n`;
  const streamed = await exchange('POST', 'api.openai.com', '/v1/responses', stream, 'text/event-stream', { prompt: { id: 'pmpt_1' }, input: 'hello', stream: true });
  expect(streamed?.priceSource).toBe('built-in:gpt-4.1-mini');
  // An answer naming no model either: the fallback rates, not nothing.
  const { model: _model, ...anonymous } = storedResponse;
  const unnamed = await exchange('POST', 'api.openai.com', '/v1/responses', JSON.stringify(anonymous), 'application/json', { prompt: { id: 'pmpt_1' }, input: 'hello' });
  expect(unnamed?.priceSource).toBe('fallback:no-model');
});

it('creating a Gemini cache is charged its size as input, not output', async () => {
  const created = await exchange('POST', 'generativelanguage.googleapis.com', '/v1beta/cachedContents', JSON.stringify(cache), 'application/json',
    { model: 'models/gemini-2.5-flash', contents: [{ role: 'user', parts: [{ text: 'a large repository' }] }] });
  expect(created?.usage).toMatchObject({ inputTokens: 500000, outputTokens: 0 });
  // gemini-2.5-flash input: $0.30 per Mtok.
  expect(created?.costUsd).toBeCloseTo(0.15, 6);
});

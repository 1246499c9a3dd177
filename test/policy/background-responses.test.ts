import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type BackgroundCharge, type UsageCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { until } from '../support/until.js';
import { bundle, NOW } from './support.js';

/**
 * A background request (Responses `background: true`, an Assistants run) answers `queued` with no usage; the usage
 * comes with its final state, which the client fetches back (a poll, a resumed stream, a cancel). A fetch is never
 * charged as such, so the usage is charged to the request that started the work, once, when Edge first sees it
 * final; one never fetched back is charged Edge's estimate after a bound. The requests are recognised by Edge's own
 * resolver from their method and path, as the proxy recognises them.
 */

let dir: string;
let db: PolicyDatabase;
let enforcer: PolicyEnforcer;
let late: BackgroundCharge[];
const resolver = createProviderResolver();
const PROMPT = 'y'.repeat(400);

function start(backgroundTimeoutMs?: number): void {
  late = [];
  enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; },
    ...(backgroundTimeoutMs !== undefined ? { backgroundTimeoutMs } : {}),
    onBackgroundCharge: (charged) => late.push(charged),
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1000, token_reset_duration: '1d' },
    budgets: [{ max_limit: 50, reset_duration: '1d' }],
  }));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-'));
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  start();
});

afterEach(() => {
  enforcer.releaseBackground();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One exchange as the proxy runs it: recognised, decided (refused: 'refused'), answered with `answer`; what it was charged. */
async function exchange(method: string, target: string, answer: string, contentType = 'application/json', body?: unknown): Promise<UsageCharge | undefined | 'refused'> {
  const info = { method, host: 'api.openai.com', path: target, headers: { 'content-type': 'application/json' } };
  const resolution = resolver.resolve(info);
  if (resolution.kind !== 'recognized') throw new Error(`${method} ${target} was not recognised: ${resolution.kind}`);
  const parsed = resolution.parse(body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
  if (!parsed.ok) throw new Error(`${method} ${target} was not parsed: ${parsed.error.message}`);
  const request = parsed.request;
  if ((await enforcer.inspector()({ request, body: parsed.body, info, app: 'probe' })).action !== 'allow') return 'refused';
  let charged: UsageCharge | undefined;
  const meter = enforcer.meterResponse(request, { contentType, contentEncoding: undefined, status: 200 }, (reported, estimate) => { charged = reported ?? estimate; });
  meter?.push(Buffer.from(answer));
  meter?.end();
  await meter?.finished;
  enforcer.settle(request);
  return charged;
}

const tokensUsed = () => enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used;
const spent = () => enforcer.status().budgets[0]?.usedUsd;

const response = (id: string, status: string, usage?: { input_tokens: number; output_tokens: number }) => ({
  id, object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status, output: [],
  usage: usage ? { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } : null,
});
const json = (doc: unknown) => JSON.stringify(doc);
const sse = (...events: Array<Record<string, unknown>>) => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const startBackground = (id: string) => exchange('POST', '/v1/responses', json(response(id, 'queued')), 'application/json',
  { model: 'gpt-4.1-mini', background: true, input: PROMPT });

it('a background response is charged its usage once, when a poll first finds it completed; the next request over budget is refused', async () => {
  expect(await startBackground('resp_bg1')).toBeUndefined();
  expect(await exchange('GET', '/v1/responses/resp_bg1', json(response('resp_bg1', 'in_progress')))).toBeUndefined();
  expect(await exchange('GET', '/v1/responses/resp_bg1', json(response('resp_bg1', 'in_progress')))).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  // The poll itself is charged nothing: the usage goes to the request that started the work.
  expect(await exchange('GET', '/v1/responses/resp_bg1', json(response('resp_bg1', 'completed', { input_tokens: 800, output_tokens: 400 })))).toBeUndefined();
  expect(tokensUsed()).toBe(1200);
  expect(late).toHaveLength(1);
  expect(late[0]).toMatchObject({ id: 'resp_bg1', target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, charge: { usage: { inputTokens: 800, outputTokens: 400 } } });
  expect(late[0]!.charge.estimated).toBeUndefined();
  // Priced by the model that answered: gpt-4.1-mini, $0.40 / $1.60 per Mtok.
  expect(spent()).toBeCloseTo(800 * 0.4e-6 + 400 * 1.6e-6, 9);
  // Polled again: nothing more.
  await exchange('GET', '/v1/responses/resp_bg1', json(response('resp_bg1', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(1200);
  expect(late).toHaveLength(1);
  // The key's 1,000 tokens are used up: the next request is refused.
  expect(await startBackground('resp_bg2')).toBe('refused');
});

it('a retrieval of a response Edge never saw started is not charged', async () => {
  expect(await startBackground('resp_seen')).toBeUndefined();
  await exchange('GET', '/v1/responses/resp_other', json(response('resp_other', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(0);
  expect(late).toEqual([]);
});

it('one never fetched back is charged Edge\'s estimate after the bound', async () => {
  enforcer.releaseBackground();
  start(50);
  expect(await startBackground('resp_forgotten')).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  expect(await until(() => late.length > 0, 5000)).toBe(true);
  expect(late[0]).toMatchObject({ id: 'resp_forgotten', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 0 } } });
  expect(tokensUsed()).toBe(100);
  // Given up: its completion fetched back later is charged nothing more.
  await exchange('GET', '/v1/responses/resp_forgotten', json(response('resp_forgotten', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(100);
});

it('a cancel ends it: charged what its answer reports, or the estimate', async () => {
  await startBackground('resp_c1');
  await exchange('POST', '/v1/responses/resp_c1/cancel', json(response('resp_c1', 'cancelled', { input_tokens: 300, output_tokens: 20 })));
  expect(tokensUsed()).toBe(320);
  await startBackground('resp_c2');
  await exchange('POST', '/v1/responses/resp_c2/cancel', json(response('resp_c2', 'cancelled')));
  expect(late.map((c) => [c.id, c.charge.estimated ?? false, c.charge.usage.totalTokens])).toEqual([['resp_c1', false, 320], ['resp_c2', true, 100]]);
});

it('a background stream the client left is charged once, from the stream it resumes later', async () => {
  const created = sse({ type: 'response.created', sequence_number: 0, response: response('resp_s1', 'queued') },
    { type: 'response.in_progress', sequence_number: 1, response: response('resp_s1', 'in_progress') },
    { type: 'response.output_text.delta', sequence_number: 2, delta: 'Hello' });
  // Left after three events: not charged the estimate now, its usage is still to come.
  expect(await exchange('POST', '/v1/responses', created, 'text/event-stream', { model: 'gpt-4.1-mini', background: true, stream: true, input: PROMPT })).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  const resumed = sse({ type: 'response.output_text.delta', sequence_number: 3, delta: ' world' },
    { type: 'response.completed', sequence_number: 4, response: response('resp_s1', 'completed', { input_tokens: 500, output_tokens: 50 }) });
  await exchange('GET', '/v1/responses/resp_s1?stream=true&starting_after=2', resumed, 'text/event-stream');
  expect(tokensUsed()).toBe(550);
  await exchange('GET', '/v1/responses/resp_s1?stream=true&starting_after=2', resumed, 'text/event-stream');
  expect(tokensUsed()).toBe(550);
  expect(late).toHaveLength(1);
});

it('an ordinary stream the client left is still charged the estimate at once', async () => {
  const { background: _background, ...ordinary } = response('resp_o1', 'in_progress');
  const left = sse({ type: 'response.created', sequence_number: 0, response: ordinary }, { type: 'response.output_text.delta', sequence_number: 1, delta: 'Hi' });
  const charged = await exchange('POST', '/v1/responses', left, 'text/event-stream', { model: 'gpt-4.1-mini', stream: true, input: PROMPT });
  expect(charged).toMatchObject({ estimated: true, usage: { inputTokens: 100 } });
});

it('an Assistants run is charged its usage when a poll finds it completed', async () => {
  const run = (status: string, usage: unknown = null) => json({ id: 'run_1', object: 'thread.run', thread_id: 'thread_1', assistant_id: 'asst_1', model: 'gpt-4o-mini', status, usage });
  expect(await exchange('POST', '/v1/threads/thread_1/runs', run('queued'), 'application/json', { assistant_id: 'asst_1', additional_instructions: PROMPT })).toBeUndefined();
  await exchange('GET', '/v1/threads/thread_1/runs/run_1', run('in_progress'));
  expect(tokensUsed()).toBe(0);
  await exchange('GET', '/v1/threads/thread_1/runs/run_1', run('completed', { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 }));
  expect(tokensUsed()).toBe(660);
  expect(late[0]?.charge.priceSource).toBe('built-in:gpt-4o-mini');
});

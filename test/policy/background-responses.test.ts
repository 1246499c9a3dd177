import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { DEFAULT_OUTPUT_CAP_TOKENS } from '../../src/policy/background-output-cap.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { until } from '../support/until.js';
import { bundle, NOW, vkInput } from './support.js';

/**
 * A background request (Responses `background: true`, an Assistants run) answers `queued` with no usage; the usage
 * comes with its final state, which the client fetches back (a poll, a resumed stream, a cancel). A fetch is never
 * charged as such, so the usage is charged to the request that started the work, once, when Edge first sees it
 * final; one never fetched back is charged its worst case after a bound (its answer may have been read another way).
 * The requests are recognised by Edge's own resolver from their method and path, as the proxy recognises them.
 */

let dir: string;
let db: PolicyDatabase;
let enforcer: PolicyEnforcer;
let late: BackgroundCharge[];
/** The enforcer's clock: tests move it on to see what holds after a while. */
let clockMs: number;
const PROMPT = 'y'.repeat(400);

function start(backgroundTimeoutMs?: number, tokenMaxLimit = 1000): void {
  late = [];
  clockMs = NOW.getTime();
  enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), now: () => new Date(clockMs), onError: (err) => { throw err; },
    ...(backgroundTimeoutMs !== undefined ? { backgroundTimeoutMs } : {}),
    onBackgroundCharge: (charged) => late.push(charged),
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: tokenMaxLimit, token_reset_duration: '1d' },
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

/** One exchange as the proxy runs it (refused: 'refused'), answered with `answer`; what it was charged. */
const exchange = (method: string, target: string, answer: string | Buffer, contentType = 'application/json', body?: unknown, contentEncoding?: string) =>
  exchangeThroughPolicy(enforcer, { method, target, answer, contentType, body, contentEncoding });

const tokensUsed = () => enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used;
const spent = () => enforcer.status().budgets[0]?.usedUsd;

const response = (id: string, status: string, usage?: { input_tokens: number; output_tokens: number }) => ({
  id, object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status, output: [],
  usage: usage ? { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } : null,
});
const json = (doc: unknown) => JSON.stringify(doc);
const sse = (...events: Array<Record<string, unknown>>) => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const startBackground = (id: string, extra: Record<string, unknown> = {}) => exchange('POST', '/v1/responses', json(response(id, 'queued')), 'application/json',
  { model: 'gpt-4.1-mini', background: true, input: PROMPT, ...extra });

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

it('one never fetched back is charged its worst case after the bound: the prompt and the answer it allowed itself', async () => {
  enforcer.releaseBackground();
  start(50);
  expect(await startBackground('resp_forgotten', { max_output_tokens: 700 })).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  expect(await until(() => late.length > 0, 5000)).toBe(true);
  // Its answer may have been read another way (a conversation's items, a webhook): not only the prompt.
  expect(late[0]).toMatchObject({ id: 'resp_forgotten', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 700 } } });
  expect(tokensUsed()).toBe(800);
  // Its completion fetched back later trues the estimate up to its usage, once.
  await exchange('GET', '/v1/responses/resp_forgotten', json(response('resp_forgotten', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(1200);
  await exchange('GET', '/v1/responses/resp_forgotten', json(response('resp_forgotten', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(1200);
  expect(late[1]).toMatchObject({ id: 'resp_forgotten', charge: { usage: { totalTokens: 1200 } }, trueUp: { cause: 'usage_reported', difference: { totalTokens: 400 } } });
});

it('given up as Edge stops: a request setting no bound is charged the default one, a run its max_completion_tokens', async () => {
  await startBackground('resp_unbounded');
  const run = json({ id: 'run_b', object: 'thread.run', thread_id: 'thread_b', assistant_id: 'asst_1', model: 'gpt-4o-mini', status: 'queued', usage: null });
  await exchange('POST', '/v1/threads/thread_b/runs', run, 'application/json', { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
  enforcer.releaseBackground();
  expect(late.map((c) => [c.id, c.charge.estimated, c.charge.usage.inputTokens, c.charge.usage.outputTokens]))
    .toEqual([['resp_unbounded', true, 100, DEFAULT_OUTPUT_CAP_TOKENS], ['run_b', true, 100, 2000]]);
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

/** A Response whose output so far is `text`. */
const responseWithText = (id: string, status: string, text: string) => ({
  ...response(id, status),
  output: [{ type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
});

it('a cancel whose answer reports no usage is charged the prompt and the most answer text any fetch carried', async () => {
  await startBackground('resp_t1');
  // A poll carried 1,200 characters of answer (300 tokens); the cancel's answer carries 2,000 (500 tokens).
  await exchange('GET', '/v1/responses/resp_t1', json(responseWithText('resp_t1', 'in_progress', 'a'.repeat(1200))));
  await exchange('POST', '/v1/responses/resp_t1/cancel', json(responseWithText('resp_t1', 'cancelled', 'a'.repeat(2000))));
  await startBackground('resp_t2');
  // The poll carried more than the cancel's answer, which carries no output.
  await exchange('GET', '/v1/responses/resp_t2', json(responseWithText('resp_t2', 'in_progress', 'b'.repeat(800))));
  await exchange('POST', '/v1/responses/resp_t2/cancel', json(response('resp_t2', 'cancelled')));
  expect(late.map((c) => [c.id, c.charge.estimated, c.charge.usage.inputTokens, c.charge.usage.outputTokens]))
    .toEqual([['resp_t1', true, 100, 500], ['resp_t2', true, 100, 200]]);
  expect(tokensUsed()).toBe(900);
});

it('its prompt stays held as long as Edge waits for its usage, past the half hour an exchange\'s hold lasts', async () => {
  // A prompt of 1,000 tokens: held, it uses the key's 1,000 tokens up until its usage is charged.
  expect(await startBackground('resp_h1', { input: 'z'.repeat(4000) })).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  clockMs += 45 * 60_000;
  expect(await startBackground('resp_h2')).toBe('refused');
  // Its usage charged: the hold gives way to it, and the key has tokens left.
  await exchange('GET', '/v1/responses/resp_h1', json(response('resp_h1', 'completed', { input_tokens: 300, output_tokens: 100 })));
  expect(tokensUsed()).toBe(400);
  expect(await startBackground('resp_h3')).toBeUndefined();
});

it('a key over its token limit and budget may still fetch back what it started; request limits still apply', async () => {
  expect(await startBackground('resp_p1')).toBeUndefined();
  await exchange('GET', '/v1/responses/resp_p1', json(response('resp_p1', 'completed', { input_tokens: 800, output_tokens: 400 })));
  expect(tokensUsed()).toBe(1200);
  expect(await startBackground('resp_p2')).toBe('refused');
  // Reading back the answer already paid for: the response, a conversation's items, an Assistants thread's messages.
  expect(await exchange('GET', '/v1/responses/resp_p1', json(response('resp_p1', 'completed', { input_tokens: 800, output_tokens: 400 })))).toBeUndefined();
  expect(await exchange('GET', '/v1/conversations/conv_1/items', json({ object: 'list', data: [] }))).toBeUndefined();
  expect(await exchange('GET', '/v1/threads/thread_1/messages', json({ object: 'list', data: [] }))).toBeUndefined();
  expect(tokensUsed()).toBe(1200);
  // Over a budget as well.
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    budgets: [{ max_limit: 0.0001, reset_duration: '1d' }],
    rate_limit: { request_max_limit: 1, request_reset_duration: '1d' },
  }));
  expect(spent()).toBeGreaterThan(0.0001);
  expect(await startBackground('resp_p3')).toBe('refused');
  expect(await exchange('GET', '/v1/responses/resp_p1', json(response('resp_p1', 'completed')))).toBeUndefined();
  // That fetch used the key's one request up: the next is refused.
  expect(await exchange('GET', '/v1/responses/resp_p1', json(response('resp_p1', 'completed')))).toBe('refused');
});

/*
 * True-ups (background-true-ups.ts): an estimate charged to background work (given up, or a final state reporting
 * no usage) stays open, and a later fetch reporting its usage charges the difference, or gives it back.
 */

it('a cancel without usage is charged the prompt for now; the work finishing anyway (Azure) is charged when fetched', async () => {
  await startBackground('resp_dodge');
  await exchange('POST', '/v1/responses/resp_dodge/cancel', json(response('resp_dodge', 'cancelled')));
  expect(tokensUsed()).toBe(100);
  // The provider went on and billed 30,100 tokens: "start, then cancel" does not make them free.
  expect(await exchange('GET', '/v1/responses/resp_dodge', json(response('resp_dodge', 'completed', { input_tokens: 100, output_tokens: 30_000 })))).toBeUndefined();
  expect(tokensUsed()).toBe(30_100);
  expect(late.at(-1)).toMatchObject({
    id: 'resp_dodge', charge: { usage: { totalTokens: 30_100 } },
    trueUp: { cause: 'usage_reported', before: { usage: { totalTokens: 100 } }, difference: { totalTokens: 30_000 }, refundedInFull: true },
  });
  expect(late.at(-1)!.charge.estimated).toBeUndefined();
  // Closed: fetched again, nothing more.
  await exchange('GET', '/v1/responses/resp_dodge', json(response('resp_dodge', 'completed', { input_tokens: 100, output_tokens: 30_000 })));
  expect(tokensUsed()).toBe(30_100);
  expect(late).toHaveLength(2);
});

it('a cancel fetched again with more answer (or reasoning spent) raises its estimate, still open', async () => {
  await startBackground('resp_more');
  await exchange('POST', '/v1/responses/resp_more/cancel', json(responseWithText('resp_more', 'cancelled', 'a'.repeat(400))));
  expect(tokensUsed()).toBe(200);
  await exchange('GET', '/v1/responses/resp_more', json(responseWithText('resp_more', 'cancelled', 'a'.repeat(4000))));
  expect(tokensUsed()).toBe(1100);
  expect(late.at(-1)).toMatchObject({ charge: { estimated: true, usage: { outputTokens: 1000 } }, trueUp: { cause: 'more_answer_seen', difference: { totalTokens: 900 } } });
  // Less answer than charged: nothing given back on a guess.
  await exchange('GET', '/v1/responses/resp_more', json(response('resp_more', 'cancelled')));
  expect(tokensUsed()).toBe(1100);
  // Its usage at last: 300 tokens of reasoning the text never showed.
  await exchange('GET', '/v1/responses/resp_more', json(response('resp_more', 'cancelled', { input_tokens: 100, output_tokens: 1300 })));
  expect(tokensUsed()).toBe(1400);
});

it('given up without a bound, an answer longer than the worst case pays the rest when fetched back', async () => {
  enforcer.releaseBackground();
  start(50);
  await startBackground('resp_long');
  expect(await until(() => late.length > 0, 5000)).toBe(true);
  expect(tokensUsed()).toBe(100 + DEFAULT_OUTPUT_CAP_TOKENS);
  await exchange('GET', '/v1/responses/resp_long', json(response('resp_long', 'completed', { input_tokens: 100, output_tokens: 100_000 })));
  expect(tokensUsed()).toBe(100_100);
  // Both windows: the spend too is what its usage cost (gpt-4.1-mini, $0.40 / $1.60 per Mtok).
  expect(spent()).toBeCloseTo(100 * 0.4e-6 + 100_000 * 1.6e-6, 9);
});

it('given up as Edge stops, or crowded out, its worst case is given back down to its usage when fetched back', async () => {
  await startBackground('resp_batch');
  enforcer.releaseBackground();
  expect(tokensUsed()).toBe(100 + DEFAULT_OUTPUT_CAP_TOKENS);
  await exchange('GET', '/v1/responses/resp_batch', json(response('resp_batch', 'completed', { input_tokens: 100, output_tokens: 50 })));
  expect(tokensUsed()).toBe(150);
  expect(spent()).toBeCloseTo(100 * 0.4e-6 + 50 * 1.6e-6, 9);
  expect(late.at(-1)).toMatchObject({ trueUp: { cause: 'usage_reported', difference: { totalTokens: 150 - 100 - DEFAULT_OUTPUT_CAP_TOKENS }, refundedInFull: true } });
  // The key has its tokens back: the next request is let through.
  expect(await startBackground('resp_next')).toBeUndefined();
});

it('an excess is not given back into a window that has rolled over since the estimate was charged', async () => {
  // The key's day starts with this charge.
  await startBackground('resp_first');
  await exchange('GET', '/v1/responses/resp_first', json(response('resp_first', 'completed', { input_tokens: 10, output_tokens: 10 })));
  clockMs += 23 * 60 * 60_000;
  await startBackground('resp_old');
  enforcer.releaseBackground();
  expect(tokensUsed()).toBe(20 + 100 + DEFAULT_OUTPUT_CAP_TOKENS);
  // The key's day is over: its new window starts empty and stays so.
  clockMs += 2 * 60 * 60_000;
  await exchange('GET', '/v1/responses/resp_old', json(response('resp_old', 'completed', { input_tokens: 100, output_tokens: 50 })));
  expect(tokensUsed()).toBe(0);
  expect(late.at(-1)).toMatchObject({ trueUp: { refundedInFull: false } });
});

it('a compressed cancel answer is charged all its answer text, every time', async () => {
  enforcer.releaseBackground();
  start(undefined, 1e9);
  const text = 'x'.repeat(400_000);
  for (let k = 0; k < 40; k++) {
    await startBackground(`resp_gz${k}`);
    const body = zlib.gzipSync(Buffer.from(json(responseWithText(`resp_gz${k}`, 'cancelled', text))));
    await exchange('POST', `/v1/responses/resp_gz${k}/cancel`, body, 'application/json', undefined, 'gzip');
    expect(late.at(-1)).toMatchObject({ id: `resp_gz${k}`, charge: { usage: { outputTokens: 100_000 } } });
  }
});

/** An Assistants run in `status`, with its usage once final. */
const threadRun = (id: string, status: string, usage: unknown = null) => json({ id, object: 'thread.run', thread_id: 'thread_1', assistant_id: 'asst_1', model: 'gpt-4o-mini', status, usage });
const runUsage = { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 };
const startRun = (id: string) => exchange('POST', '/v1/threads/thread_1/runs', threadRun(id, 'queued'), 'application/json',
  { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
/** Tool outputs submitted to run `id`: 4,000 characters (1,000 tokens) unless `output` says otherwise. */
const submitToolOutputs = (id: string, answer: string, contentType = 'application/json', output = 'o'.repeat(4000)) =>
  exchange('POST', `/v1/threads/thread_1/runs/${id}/submit_tool_outputs`, answer, contentType,
    { ...(contentType === 'text/event-stream' ? { stream: true } : {}), tool_outputs: [{ tool_call_id: 'call_1', output }] });
const runEvents = (id: string, ...states: Array<[string, unknown?]>) => states.map(([status, usage]) => `event: thread.run.${status}\ndata: ${threadRun(id, status, usage ?? null)}\n\n`).join('');

it('tool outputs submitted to a run Edge waits for (answered queued) are settled through the run, not estimated on top', async () => {
  start(undefined, 1e9);
  await startRun('run_t1');
  // 40,000 characters of tool outputs: 10,000 tokens, were they estimated.
  expect(await submitToolOutputs('run_t1', threadRun('run_t1', 'queued'), 'application/json', 'o'.repeat(40_000))).toBeUndefined();
  expect(tokensUsed()).toBe(0);
  await exchange('GET', '/v1/threads/thread_1/runs/run_t1', threadRun('run_t1', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp ?? null])).toEqual([['run_t1', 660, null]]);
});

it('tool outputs submitted to a run Edge waits for, given up: its worst case counts their prompt', async () => {
  start(undefined, 1e9);
  await startRun('run_t6');
  await submitToolOutputs('run_t6', threadRun('run_t6', 'queued'));
  enforcer.releaseBackground();
  expect(late.map((c) => [c.id, c.charge.usage.inputTokens, c.charge.usage.outputTokens])).toEqual([['run_t6', 100 + 1000, 2000]]);
});

it('tool outputs streamed to the end of a run Edge waits for charge the run its usage, once', async () => {
  start(undefined, 1e9);
  await startRun('run_t2');
  expect(await submitToolOutputs('run_t2', runEvents('run_t2', ['in_progress'], ['completed', runUsage]), 'text/event-stream')).toBeUndefined();
  expect(tokensUsed()).toBe(660);
  await exchange('GET', '/v1/threads/thread_1/runs/run_t2', threadRun('run_t2', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens])).toEqual([['run_t2', 660]]);
});

it('a run given up, then continued with tool outputs streamed to its end: its estimate trued up to the usage, once', async () => {
  start(undefined, 1e9);
  await startRun('run_t3');
  enforcer.releaseBackground();
  expect(tokensUsed()).toBe(2100);
  await submitToolOutputs('run_t3', runEvents('run_t3', ['in_progress'], ['completed', runUsage]), 'text/event-stream');
  expect(tokensUsed()).toBe(660);
  // Polled afterwards: nothing is open any more.
  await exchange('GET', '/v1/threads/thread_1/runs/run_t3', threadRun('run_t3', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause ?? null, c.trueUp?.difference.totalTokens ?? null]))
    .toEqual([['run_t3', 2100, null, null], ['run_t3', 660, 'usage_reported', 660 - 2100]]);
});

it('a run given up, then continued (answered queued): waited for again from its estimate; given up again, then fetched', async () => {
  start(undefined, 1e9);
  await startRun('run_t4');
  enforcer.releaseBackground();
  expect(await submitToolOutputs('run_t4', threadRun('run_t4', 'queued'))).toBeUndefined();
  expect(tokensUsed()).toBe(2100);
  // Given up again: its worst case grows by the tool outputs' 1,000 tokens of prompt, the difference charged.
  enforcer.releaseBackground();
  expect(tokensUsed()).toBe(3100);
  expect(late.at(-1)).toMatchObject({ id: 'run_t4', charge: { estimated: true }, trueUp: { cause: 'given_up', difference: { totalTokens: 1000 } } });
  await exchange('GET', '/v1/threads/thread_1/runs/run_t4', threadRun('run_t4', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
  await exchange('GET', '/v1/threads/thread_1/runs/run_t4', threadRun('run_t4', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
});

it('a run given up, then continued (answered queued), then polled completed: only the difference to its estimate', async () => {
  start(undefined, 1e9);
  await startRun('run_t5');
  enforcer.releaseBackground();
  await submitToolOutputs('run_t5', threadRun('run_t5', 'queued'));
  await exchange('GET', '/v1/threads/thread_1/runs/run_t5', threadRun('run_t5', 'completed', runUsage));
  expect(tokensUsed()).toBe(660);
  expect(late.at(-1)).toMatchObject({ id: 'run_t5', trueUp: { cause: 'usage_reported', before: { usage: { totalTokens: 2100 } }, difference: { totalTokens: 660 - 2100 } } });
});

/**
 * The device moved from key A (`vk-eng`, start()'s) to key B while a run waited: a sync named another active key.
 * Both stay in the bundle so each one's counters can be read; `sendAs` says which one the device sends.
 */
let syncs = 8;
function sendAs(id: 'vk-eng' | 'vk-b'): void {
  const limits = { provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }], rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' } };
  enforcer.setBundle(bundle({ version: syncs++, active_virtual_key_id: id, virtual_keys: [vkInput(limits), vkInput({ ...limits, id: 'vk-b', name: 'team-b', value: 'sk-bf-b' })] }));
}
const tokensOf = (id: 'vk-eng' | 'vk-b') => { sendAs(id); return tokensUsed(); };

it('tool outputs sent under another key than the run waited for: charged to the key that sent them, nothing to the old one', async () => {
  start(undefined, 1e9);
  await startRun('run_k1');
  sendAs('vk-b');
  expect(await submitToolOutputs('run_k1', threadRun('run_k1', 'completed', runUsage))).toMatchObject({ usage: { totalTokens: 660 } });
  // Fetched again afterwards: the run is no longer tracked, under either key.
  await exchange('GET', '/v1/threads/thread_1/runs/run_k1', threadRun('run_k1', 'completed', runUsage));
  expect(late).toEqual([]);
  expect(tokensOf('vk-b')).toBe(660);
  expect(tokensOf('vk-eng')).toBe(0);
});

it('tool outputs sent under another key, answered queued: the run is waited for under the key that sent them', async () => {
  start(undefined, 1e9);
  await startRun('run_k2');
  sendAs('vk-b');
  expect(await submitToolOutputs('run_k2', threadRun('run_k2', 'queued'))).toBeUndefined();
  await exchange('GET', '/v1/threads/thread_1/runs/run_k2', threadRun('run_k2', 'completed', runUsage));
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp ?? null])).toEqual([['run_k2', 660, null]]);
  expect(tokensOf('vk-b')).toBe(660);
  expect(tokensOf('vk-eng')).toBe(0);
});

it('a run given up under one key, continued under another: the run\'s usage goes to the new key, the old one\'s whole estimate is given back', async () => {
  start(undefined, 1e9);
  await startRun('run_k3');
  enforcer.releaseBackground();
  expect(tokensUsed()).toBe(2100);
  sendAs('vk-b');
  expect(await submitToolOutputs('run_k3', threadRun('run_k3', 'completed', runUsage))).toMatchObject({ usage: { totalTokens: 660 } });
  // Closed then: a later fetch of the run trues nothing up again.
  await exchange('GET', '/v1/threads/thread_1/runs/run_k3', threadRun('run_k3', 'completed', runUsage));
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause ?? null, c.trueUp?.difference.totalTokens ?? null]))
    .toEqual([['run_k3', 2100, null, null], ['run_k3', 0, 'continued_under_another_key', -2100]]);
  // The run counted once: all of it on the key that continued it.
  expect(tokensOf('vk-b')).toBe(660);
  expect(tokensOf('vk-eng')).toBe(0);
});

it('a run given up under one key, continued under another (answered queued), then polled completed: the old key\'s whole estimate given back', async () => {
  start(undefined, 1e9);
  await startRun('run_k4');
  enforcer.releaseBackground();
  sendAs('vk-b');
  expect(await submitToolOutputs('run_k4', threadRun('run_k4', 'queued'))).toBeUndefined();
  expect(tokensOf('vk-eng')).toBe(2100);
  await exchange('GET', '/v1/threads/thread_1/runs/run_k4', threadRun('run_k4', 'completed', runUsage));
  expect(tokensOf('vk-b')).toBe(660);
  expect(tokensOf('vk-eng')).toBe(0);
  expect(late.at(-1)).toMatchObject({ id: 'run_k4', trueUp: { cause: 'continued_under_another_key', difference: { totalTokens: -2100 }, refundedInFull: true } });
});

it('a run given up under one key and continued under another, whose usage is above the old key\'s estimate: the old key is charged nothing more, and given its estimate back', async () => {
  start(undefined, 1e9);
  await startRun('run_k5');
  enforcer.releaseBackground();
  sendAs('vk-b');
  const big = { prompt_tokens: 5000, completion_tokens: 3000, total_tokens: 8000 };
  expect(await submitToolOutputs('run_k5', threadRun('run_k5', 'completed', big))).toMatchObject({ usage: { totalTokens: 8000 } });
  expect(tokensOf('vk-b')).toBe(8000);
  expect(tokensOf('vk-eng')).toBe(0);
  expect(late.map((c) => [c.charge.usage.totalTokens, c.trueUp?.cause ?? null])).toEqual([[2100, null], [0, 'continued_under_another_key']]);
});

/** Three keys in the bundle, `id` the one the device sends: a run handed over twice (A, then B, then C). */
function sendAsOneOfThree(id: 'vk-eng' | 'vk-b' | 'vk-c'): void {
  const limits = { provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }], rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' } };
  enforcer.setBundle(bundle({
    version: syncs++, active_virtual_key_id: id,
    virtual_keys: [vkInput(limits), vkInput({ ...limits, id: 'vk-b', name: 'team-b', value: 'sk-bf-b' }), vkInput({ ...limits, id: 'vk-c', name: 'team-c', value: 'sk-bf-c' })],
  }));
}
const tokensOfThree = (id: 'vk-eng' | 'vk-b' | 'vk-c') => { sendAsOneOfThree(id); return tokensUsed(); };

/**
 * Run `id` given up under A (vk-eng: its prompt and 2,000 answer tokens, 2,100), continued under B and given up there
 * too (the 1,000-token tool outputs and the default worst case), then continued under C answered `c`: each of A and B
 * holds an estimate of the same run.
 */
async function handOverTwice(id: string, c: string): Promise<{ estimateOfB: number }> {
  start(undefined, 1e9);
  sendAsOneOfThree('vk-eng');
  await startRun(id);
  enforcer.releaseBackground();
  sendAsOneOfThree('vk-b');
  expect(await submitToolOutputs(id, threadRun(id, 'queued'))).toBeUndefined();
  enforcer.releaseBackground();
  const estimateOfB = tokensOfThree('vk-b')!;
  expect(estimateOfB).toBe(1000 + DEFAULT_OUTPUT_CAP_TOKENS);
  expect(tokensOfThree('vk-eng')).toBe(2100);
  sendAsOneOfThree('vk-c');
  await submitToolOutputs(id, c);
  return { estimateOfB };
}

it('a run handed over twice (A, B, then C), which C pays: A and B each get their whole estimate back', async () => {
  const { estimateOfB } = await handOverTwice('run_k6', threadRun('run_k6', 'queued'));
  late.length = 0;
  await exchange('GET', '/v1/threads/thread_1/runs/run_k6', threadRun('run_k6', 'completed', runUsage));
  expect(late.map((c) => [c.charge.usage.totalTokens, c.trueUp?.cause ?? null, c.trueUp?.difference.totalTokens ?? null])).toEqual([
    [660, null, null],
    [0, 'continued_under_another_key', -2100],
    [0, 'continued_under_another_key', -estimateOfB],
  ]);
  // The run counted once: on C, which continued it last and was charged its usage.
  expect(tokensOfThree('vk-c')).toBe(660);
  expect(tokensOfThree('vk-b')).toBe(0);
  expect(tokensOfThree('vk-eng')).toBe(0);
});

it('a run handed over twice whose last continuation ended reporting no usage: B, which held it last, is trued up to the usage, A gets its estimate back', async () => {
  await handOverTwice('run_k7', threadRun('run_k7', 'completed'));
  // C was charged its continuation as an exchange of its own (an estimate of its text); nothing waits under C.
  const chargedToC = tokensOfThree('vk-c');
  late.length = 0;
  await exchange('GET', '/v1/threads/thread_1/runs/run_k7', threadRun('run_k7', 'completed', runUsage));
  expect(late.map((c) => [c.charge.usage.totalTokens, c.trueUp?.cause ?? null])).toEqual([[0, 'continued_under_another_key'], [660, 'usage_reported']]);
  expect(tokensOfThree('vk-eng')).toBe(0);
  expect(tokensOfThree('vk-b')).toBe(660);
  expect(tokensOfThree('vk-c')).toBe(chargedToC);
});

it('a true-up raising spend past a budget threshold raises the budget alert, as any charge does', async () => {
  await startBackground('resp_alert');
  await exchange('POST', '/v1/responses/resp_alert/cancel', json(response('resp_alert', 'cancelled')));
  // $50 a day; 40M answer tokens of gpt-4.1-mini at $1.60 per Mtok: $64.
  await exchange('GET', '/v1/responses/resp_alert', json(response('resp_alert', 'completed', { input_tokens: 100, output_tokens: 40_000_000 })));
  expect(spent()).toBeGreaterThan(50);
  expect(late.at(-1)!.trueUp).toBeDefined();
  expect(late.at(-1)!.charge.alerts.map((a) => a.kind)).toEqual(['budget_alert']);
  expect(enforcer.notices.recent(['budget_alert'])).toHaveLength(1);
});

const reshaped = (tokenReset: string, budgets: Array<{ max_limit: number; reset_duration: string }>) => bundle({}, {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
  rate_limit: { token_max_limit: 1e9, token_reset_duration: tokenReset },
  budgets,
});

it('a true-up after a sync gave the token window a new reset duration leaves it, and says so; the budget still follows', async () => {
  start(undefined, 1e9);
  await startBackground('resp_rk');
  await exchange('POST', '/v1/responses/resp_rk/cancel', json(response('resp_rk', 'cancelled')));
  enforcer.setBundle(reshaped('2d', [{ max_limit: 50, reset_duration: '1d' }]));
  // A new window: it never counted the estimate, and is not handed the correction of a window gone.
  await exchange('GET', '/v1/responses/resp_rk', json(response('resp_rk', 'completed', { input_tokens: 100, output_tokens: 30_000 })));
  expect(tokensUsed()).toBe(0);
  expect(late.at(-1)!.trueUp!.windowsGone).toEqual([expect.stringContaining('tokens')]);
  expect(spent()).toBeCloseTo(100 * 0.4e-6 + 30_000 * 1.6e-6, 9);
});

it('a true-up after a sync moved its budget (another inserted before it) lands in that budget, not its old place', async () => {
  start(undefined, 1e9);
  await startBackground('resp_mv');
  await exchange('POST', '/v1/responses/resp_mv/cancel', json(response('resp_mv', 'cancelled')));
  enforcer.setBundle(reshaped('1d', [{ max_limit: 99, reset_duration: '1d' }, { max_limit: 50, reset_duration: '1d' }]));
  await exchange('GET', '/v1/responses/resp_mv', json(response('resp_mv', 'completed', { input_tokens: 100, output_tokens: 1_000_000 })));
  const budgets = enforcer.status().budgets;
  expect(budgets.map((b) => b.maxUsd)).toEqual([99, 50]);
  expect(budgets[0]!.usedUsd).toBe(0);
  expect(budgets[1]!.usedUsd).toBeCloseTo(100 * 0.4e-6 + 1_000_000 * 1.6e-6, 9);
  expect(late.at(-1)!.trueUp!.windowsGone).toEqual([]);
});

it('what a late charge keeps of where its request went has no query string (it may carry a key)', async () => {
  await exchange('POST', '/v1/responses?key=secret-api-key', json(response('resp_q', 'queued')), 'application/json', { model: 'gpt-4.1-mini', background: true, input: PROMPT });
  enforcer.releaseBackground();
  expect(late[0]!.target.path).toBe('/v1/responses');
});

it('a background response still waited for when a sync moved its budget (another inserted before it) is charged in that budget', async () => {
  start(undefined, 1e9);
  await startBackground('resp_wait_mv');
  enforcer.setBundle(reshaped('1d', [{ max_limit: 99, reset_duration: '1d' }, { max_limit: 50, reset_duration: '1d' }]));
  await exchange('GET', '/v1/responses/resp_wait_mv', json(response('resp_wait_mv', 'completed', { input_tokens: 100, output_tokens: 1_000_000 })));
  const budgets = enforcer.status().budgets;
  expect(budgets.map((b) => b.maxUsd)).toEqual([99, 50]);
  // The new budget in its old place never saw the request; the budget it was decided under did.
  expect(budgets[0]!.usedUsd).toBe(0);
  expect(budgets[1]!.usedUsd).toBeCloseTo(100 * 0.4e-6 + 1_000_000 * 1.6e-6, 9);
  expect(tokensUsed()).toBe(1_000_100);
});

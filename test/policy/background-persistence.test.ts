import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_CAP_TOKENS } from '../../src/policy/background-output-cap.js';
import { ANSWER_WRITE_INTERVAL_MS, ANSWER_WRITE_STEP_TOKENS, BackgroundResponses, type BackgroundJob } from '../../src/policy/background-responses.js';
import { SqliteBackgroundStore, type BackgroundJournal, type BackgroundKind } from '../../src/policy/background-store.js';
import type { TrueUp } from '../../src/policy/background-true-ups.js';
import { SqliteCounterStore, type CounterStore } from '../../src/policy/counter-store.js';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { until } from '../support/until.js';
import { bundle, NOW } from './support.js';

/**
 * Background work Edge is still charging (a response waited for, an estimate open for a true-up) is kept in the
 * policy database (background-store.ts): an agent started again over the same file takes it up, so a fetch after the
 * restart charges or trues up as if there had been none. Each test runs an enforcer over a real policy.db, then a
 * fresh one over the same file, as a restarted agent does.
 */

let dir: string;
let file: string;
let db: PolicyDatabase;
let enforcer: PolicyEnforcer;
let late: BackgroundCharge[];
/** The enforcers' clock: a test moves it on to see what holds after a while. */
let clockMs: number;
const PROMPT = 'y'.repeat(400);

/** The policy of most tests: a budget of $1,000 a day. */
const withBudgets = (budgets: Array<{ max_limit: number; reset_duration: string }>, version = 7) => bundle({
  version,
  // A price of the bundle's own: a restored entry is still priced by the bundle it was decided under.
  pricing: { 'gpt-4.1-mini': { input_per_mtok: 1, output_per_mtok: 10 } },
}, {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
  rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
  budgets,
});
const POLICY = withBudgets([{ max_limit: 1000, reset_duration: '1d' }]);

interface Start {
  /** The first bundle applied; null: none yet (the agent applies its saved one a while after the enforcer is made). */
  policy?: PolicyBundle | null;
  /** Whether the start gets as far as taking up what the last run left (the agent does once records can be written). */
  takeUp?: boolean;
  /** The agent's say that a policy source will bring a bundle (Edge Control): taking up waits for the first one. */
  bundleExpected?: boolean;
  counters?: (db: PolicyDatabase) => CounterStore;
  store?: (db: PolicyDatabase) => SqliteBackgroundStore;
  /** How long work is waited for (the enforcer's backgroundTimeoutMs); default an hour. */
  timeoutMs?: number;
}

/**
 * An agent over policy.db: counters and background work in the same file, as the agent keeps them; the first bundle
 * applied, then the work an earlier run left taken up, in the agent's order.
 */
function startAgent({ policy = POLICY, takeUp = true, bundleExpected = false, counters = (d) => new SqliteCounterStore(d), store = (d) => new SqliteBackgroundStore(d), timeoutMs }: Start = {}): void {
  db = openPolicyDatabase(file);
  late = [];
  enforcer = new PolicyEnforcer({
    counters: counters(db), backgroundStore: store(db),
    now: () => new Date(clockMs), onError: (err) => { throw err; }, onBackgroundCharge: (charged) => late.push(charged),
    ...(timeoutMs !== undefined ? { backgroundTimeoutMs: timeoutMs } : {}),
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  if (policy) enforcer.setBundle(policy);
  if (takeUp) enforcer.takeUpBackground({ bundleExpected });
}

/** Edge stops as the agent stops it (its stop step), and starts again over the same file. */
function restart(start?: Start): void {
  enforcer.releaseBackground();
  db.close();
  startAgent(start);
}

/** Edge dies (nothing given up, nothing written on the way out) and starts again over the same file. */
function crashAndRestart(start?: Start): void {
  db.close();
  startAgent(start);
}

/** Edge is down for longer than the hour work is waited for: on the start it is given up, charged its worst case. */
async function downPastTheWait(start?: Start): Promise<void> {
  clockMs += 2 * 60 * 60_000;
  crashAndRestart(start);
  expect(await until(() => late.length > 0)).toBe(true);
}

/** Lets timers due now fire (work whose wait ran out is given up by a 0 ms timer). */
const timersDueNow = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-store-'));
  file = path.join(dir, 'policy.db');
  clockMs = NOW.getTime();
  startAgent();
});

afterEach(() => {
  if (db.open) {
    enforcer.releaseBackground();
    db.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One exchange as the proxy runs it, answered with `answer` (JSON); it must be allowed. */
async function exchange(method: string, target: string, answer: string, body?: unknown): Promise<void> {
  if (await exchangeThroughPolicy(enforcer, { method, target, answer, body }) === 'refused') throw new Error(`${method} ${target} was refused`);
}

const tokensUsed = () => enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used;
const spent = () => enforcer.status().budgets[0]?.usedUsd;
/** At the bundle's own price for gpt-4.1-mini: $1 / $10 per Mtok. */
const cost = (input: number, output: number) => input * 1e-6 + output * 10e-6;
const rowsKept = () => (db.prepare('SELECT count(*) AS n FROM policy_background_work').get() as { n: number }).n;

const response = (id: string, status: string, usage?: { input_tokens: number; output_tokens: number }) => JSON.stringify({
  id, object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status, output: [],
  usage: usage ? { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } : null,
});
const startBackground = (id: string) => exchange('POST', '/v1/responses', response(id, 'queued'), { model: 'gpt-4.1-mini', background: true, input: PROMPT, max_output_tokens: 700 });
const fetchBack = (id: string, usage?: { input_tokens: number; output_tokens: number }) =>
  exchange('GET', `/v1/responses/${id}`, response(id, usage ? 'completed' : 'in_progress', usage));
const run = (id: string, status: string, usage: unknown = null) => JSON.stringify({ id, object: 'thread.run', thread_id: 'thread_1', assistant_id: 'asst_1', model: 'gpt-4.1-mini', status, usage });

it('a response waited for when Edge dies is charged its usage, once, when fetched back after the restart', async () => {
  await startBackground('resp_crash');
  expect(rowsKept()).toBe(1);
  crashAndRestart();
  await fetchBack('resp_crash', { input_tokens: 800, output_tokens: 400 });
  expect(tokensUsed()).toBe(1200);
  expect(spent()).toBeCloseTo(cost(800, 400), 12);
  expect(late).toMatchObject([{ id: 'resp_crash', target: { method: 'POST', path: '/v1/responses' }, charge: { usage: { totalTokens: 1200 } } }]);
  expect(late[0]!.charge.estimated).toBeUndefined();
  // Settled: nothing kept, and a fetch after another restart charges nothing more.
  expect(rowsKept()).toBe(0);
  crashAndRestart();
  await fetchBack('resp_crash', { input_tokens: 800, output_tokens: 400 });
  expect(tokensUsed()).toBe(1200);
  expect(late).toEqual([]);
});

it('a poll in progress before the crash still counts (written, the interval since the last write over): a final state reporting no usage is charged the answer it carried', async () => {
  await startBackground('resp_seen');
  clockMs += ANSWER_WRITE_INTERVAL_MS;
  await exchange('GET', '/v1/responses/resp_seen', JSON.stringify({
    ...JSON.parse(response('resp_seen', 'in_progress')) as object,
    output: [{ type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text: 'a'.repeat(1200), annotations: [] }] }],
  }));
  crashAndRestart();
  await exchange('POST', '/v1/responses/resp_seen/cancel', response('resp_seen', 'cancelled'));
  // The prompt's 100 tokens and the 300 of answer the poll carried.
  expect(late).toMatchObject([{ id: 'resp_seen', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 300 } } }]);
});

it('work waited for when Edge stops cleanly stays waited for: nothing charged at the stop, its usage charged once when fetched back after the start', async () => {
  await startBackground('resp_stop');
  restart();
  // Not given up at its worst case: kept as it was.
  expect(late).toEqual([]);
  expect(tokensUsed()).toBe(0);
  expect(db.prepare('SELECT kind, id FROM policy_background_work').all()).toEqual([{ kind: 'waiting', id: 'resp_stop' }]);
  await fetchBack('resp_stop', { input_tokens: 100, output_tokens: 50 });
  expect(tokensUsed()).toBe(150);
  expect(spent()).toBeCloseTo(cost(100, 50), 12);
  expect(late).toMatchObject([{ id: 'resp_stop', charge: { usage: { totalTokens: 150 } } }]);
  expect(late[0]!.trueUp).toBeUndefined();
  expect(rowsKept()).toBe(0);
});

it('a run given up while Edge was down and continued after the start is charged the difference to its estimate, not the whole run on top', async () => {
  await exchange('POST', '/v1/threads/thread_1/runs', run('run_1', 'queued'), { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
  await downPastTheWait();
  expect(tokensUsed()).toBe(2100);
  restart();
  await exchange('POST', '/v1/threads/thread_1/runs/run_1/submit_tool_outputs', run('run_1', 'completed', { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 }),
    { tool_outputs: [{ tool_call_id: 'call_1', output: 'o'.repeat(4000) }] });
  expect(tokensUsed()).toBe(660);
  expect(late).toMatchObject([{ id: 'run_1', trueUp: { cause: 'usage_reported', before: { usage: { totalTokens: 2100 } } } }]);
});

it('one whose wait ran out while Edge was down is given up at the start: its worst case, open for a true-up', async () => {
  await startBackground('resp_late');
  await downPastTheWait();
  expect(late).toMatchObject([{ id: 'resp_late', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 700 } } }]);
  expect(tokensUsed()).toBe(800);
  await fetchBack('resp_late', { input_tokens: 100, output_tokens: 20 });
  expect(tokensUsed()).toBe(120);
});

it('an estimate kept longer than a day is dropped at the start, charged as it stands', async () => {
  await startBackground('resp_old');
  await downPastTheWait();
  restart();
  expect(db.prepare('SELECT kind FROM policy_background_work').all()).toEqual([{ kind: 'true_up' }]);
  clockMs += 25 * 60 * 60_000;
  restart();
  expect(rowsKept()).toBe(0);
  await fetchBack('resp_old', { input_tokens: 100, output_tokens: 50 });
  expect(late).toEqual([]);
});

it('a key\'s estimate kept while the run went on under another key is given back whole after a restart too', async () => {
  const twoKeys = (active: string) => bundle({
    active_virtual_key_id: active,
    virtual_keys: ['vk-eng', 'vk-b'].map((id) => ({
      id, name: id, value: `sk-bf-${id}`, provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
      rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
    })),
  });
  enforcer.setBundle(twoKeys('vk-eng'));
  await exchange('POST', '/v1/threads/thread_1/runs', run('run_2', 'queued'), { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
  await downPastTheWait({ policy: twoKeys('vk-eng') });
  enforcer.setBundle(twoKeys('vk-b'));
  await exchange('POST', '/v1/threads/thread_1/runs/run_2/submit_tool_outputs', run('run_2', 'queued'), { tool_outputs: [{ tool_call_id: 'call_1', output: 'o' }] });
  crashAndRestart({ policy: twoKeys('vk-b') });
  await exchange('GET', '/v1/threads/thread_1/runs/run_2', run('run_2', 'completed', { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 }));
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause ?? null, c.trueUp?.difference.totalTokens ?? null]))
    .toEqual([['run_2', 660, null, null], ['run_2', 0, 'continued_under_another_key', -2100]]);
  // The run counted once: all of it on the key that continued it.
  const tokensOf = (id: string) => { enforcer.setBundle(twoKeys(id)); return tokensUsed(); };
  expect(tokensOf('vk-b')).toBe(660);
  expect(tokensOf('vk-eng')).toBe(0);
});

it('a given-up request setting no bound is restored with the default worst case', async () => {
  await exchange('POST', '/v1/responses', response('resp_unbounded', 'queued'), { model: 'gpt-4.1-mini', background: true, input: PROMPT });
  await downPastTheWait();
  restart();
  expect(tokensUsed()).toBe(100 + DEFAULT_OUTPUT_CAP_TOKENS);
  await fetchBack('resp_unbounded');
  // Still in progress after the start: nothing changes, the estimate stays open.
  expect(tokensUsed()).toBe(100 + DEFAULT_OUTPUT_CAP_TOKENS);
  expect(rowsKept()).toBe(1);
});

it('the table is bounded as Edge\'s memory is: an entry crowded out is forgotten there too; a bundle\'s prices are kept once', () => {
  const store = new SqliteBackgroundStore(db);
  const pricing = { 'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 } };
  const job = (keyId: string): BackgroundJob => ({
    target: {
      keyId, keyLabel: keyId, pricing, thresholds: [], provider: 'openai', model: 'gpt-4.1',
      request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' }, target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, app: 'probe',
    },
    windows: [], promptTokens: 100, outputTokens: 0,
  });
  const givenUp: string[] = [];
  const waiting = new BackgroundResponses({ maxPending: 20, onGivenUp: (id) => givenUp.push(id), journal: store.journal('waiting', (err) => { throw err; }) });
  try {
    waiting.remember('openai', 'resp_other_key', job('vk-a'));
    // Two a key: the flood gives up its own oldest.
    for (let i = 0; i < 50; i++) waiting.remember('openai', `resp_${i}`, job('vk-b'));
    expect(givenUp).toHaveLength(48);
    expect(rowsKept()).toBe(3);
    const kept = store.load<BackgroundJob>('waiting', NOW.getTime(), Number.POSITIVE_INFINITY);
    expect(kept.map((e) => e.id)).toEqual(['resp_other_key', 'resp_48', 'resp_49']);
    expect(kept[0]!.value.target.pricing).toEqual(pricing);
    expect((db.prepare('SELECT count(*) AS n FROM policy_background_prices').get() as { n: number }).n).toBe(1);
  } finally {
    waiting.giveUpAll();
  }
  expect(rowsKept()).toBe(0);
});

it('the prompt of work waited for stays held in its key\'s windows after the restart, until its usage is charged', async () => {
  const limited = bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1000, token_reset_duration: '1d' },
  });
  enforcer.setBundle(limited);
  // A prompt of 1,000 tokens: held, it uses the key's 1,000 tokens up.
  await exchange('POST', '/v1/responses', response('resp_held', 'queued'), { model: 'gpt-4.1-mini', background: true, input: 'z'.repeat(4000) });
  crashAndRestart({ policy: limited });
  await expect(startBackground('resp_next')).rejects.toThrow('was refused');
  await fetchBack('resp_held', { input_tokens: 300, output_tokens: 100 });
  expect(tokensUsed()).toBe(400);
  await startBackground('resp_after');
});

it('work whose wait ran out while Edge was down is charged to the budget a sync moved it to, not to the one inserted in its place', async () => {
  await startBackground('resp_moved');
  // A sync inserts a budget before the one the request was decided under: that budget's counter moves.
  const v2 = withBudgets([{ max_limit: 99, reset_duration: '1d' }, { max_limit: 1000, reset_duration: '1d' }], 8);
  enforcer.setBundle(v2);
  clockMs += 2 * 60 * 60_000;
  // The agent's start: the saved bundle is applied a while after the enforcer is made, then the work taken up.
  crashAndRestart({ policy: null, takeUp: false });
  await timersDueNow();
  enforcer.setBundle(v2);
  enforcer.takeUpBackground();
  expect(await until(() => late.length > 0)).toBe(true);
  const budgets = enforcer.status().budgets;
  expect(budgets.map((b) => b.maxUsd)).toEqual([99, 1000]);
  expect(budgets[0]!.usedUsd).toBe(0);
  expect(budgets[1]!.usedUsd).toBeCloseTo(cost(100, 700), 12);
});

it('a start that fails before taking the work up charges nothing and leaves it for the next start', async () => {
  await startBackground('resp_failed_start');
  clockMs += 2 * 60 * 60_000;
  crashAndRestart({ takeUp: false });
  await timersDueNow();
  expect(late).toEqual([]);
  expect(tokensUsed()).toBe(0);
  expect(db.prepare('SELECT kind, id FROM policy_background_work').all()).toEqual([{ kind: 'waiting', id: 'resp_failed_start' }]);
  // The failed start stops as the agent stops one that never got to take the work up.
  restart();
  expect(await until(() => late.length > 0)).toBe(true);
  expect(late).toMatchObject([{ id: 'resp_failed_start', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 700 } } }]);
  expect(tokensUsed()).toBe(800);
});

/** What another connection read of the work table each time a counter was charged, as a crash there would leave it. */
const seenAtCharge: unknown[] = [];
class ObservedCounters extends SqliteCounterStore {
  override add(...args: Parameters<SqliteCounterStore['add']>): ReturnType<SqliteCounterStore['add']> {
    const reader = openPolicyDatabase(file);
    try {
      seenAtCharge.push(reader.prepare('SELECT kind, id FROM policy_background_work').all());
    } finally {
      reader.close();
    }
    return super.add(...args);
  }
}

it('settling work writes the charge and the ledger in one transaction: a reader (or a crash) in between sees the work still waiting', async () => {
  const seen = seenAtCharge;
  seen.length = 0;
  crashAndRestart({ counters: (d) => new ObservedCounters(d) });
  await startBackground('resp_atomic');
  seen.length = 0;
  await fetchBack('resp_atomic', { input_tokens: 100, output_tokens: 50 });
  expect(seen.length).toBeGreaterThan(0);
  for (const rows of seen) expect(rows).toEqual([{ kind: 'waiting', id: 'resp_atomic' }]);
  expect(rowsKept()).toBe(0);
  expect(tokensUsed()).toBe(150);
});

it('a bundle\'s prices that could not be stored (a full disk) are stored with the next entry that refers to them', () => {
  const store = new SqliteBackgroundStore(db);
  const pricing = { 'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 } };
  const job: BackgroundJob = {
    target: {
      keyId: 'vk-a', keyLabel: 'vk-a', pricing, thresholds: [], provider: 'openai', model: 'gpt-4.1',
      request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' }, target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, app: 'probe',
    },
    windows: [], promptTokens: 100, outputTokens: 0,
  };
  // The first write of the price list fails, as on a full disk.
  db.exec(`CREATE TABLE disk_full (yes INTEGER); INSERT INTO disk_full VALUES (1);
    CREATE TRIGGER fail_prices BEFORE INSERT ON policy_background_prices WHEN (SELECT count(*) FROM disk_full) > 0
    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
  const failures: string[] = [];
  const waiting = new BackgroundResponses({ onGivenUp: () => {}, journal: store.journal('waiting', (_err, context) => failures.push(context)) });
  try {
    waiting.remember('openai', 'resp_first', { ...job });
    expect(failures).toEqual(['keeping background work waiting']);
    db.exec('DELETE FROM disk_full');
    waiting.remember('openai', 'resp_second', { ...job });
    const kept = store.load<BackgroundJob>('waiting', NOW.getTime(), Number.POSITIVE_INFINITY);
    expect(kept.map((e) => [e.id, e.value.target.pricing])).toEqual([['resp_second', pricing]]);
  } finally {
    waiting.stopWaiting();
  }
});

it('work whose wait ran out while Edge was down is given up in one transaction: a reader at its charge still sees it waiting', async () => {
  await startBackground('resp_overdue');
  clockMs += 2 * 60 * 60_000;
  seenAtCharge.length = 0;
  crashAndRestart({ counters: (d) => new ObservedCounters(d) });
  expect(await until(() => late.length > 0)).toBe(true);
  expect(seenAtCharge.length).toBeGreaterThan(0);
  for (const rows of seenAtCharge) expect(rows).toEqual([{ kind: 'waiting', id: 'resp_overdue' }]);
  expect(db.prepare('SELECT kind, id FROM policy_background_work').all()).toEqual([{ kind: 'true_up', id: 'resp_overdue' }]);
  expect(tokensUsed()).toBe(800);
});

it('work whose wait runs out while Edge runs is given up in one transaction too', async () => {
  crashAndRestart({ counters: (d) => new ObservedCounters(d), timeoutMs: 500 });
  await startBackground('resp_timer');
  seenAtCharge.length = 0;
  expect(await until(() => late.length > 0)).toBe(true);
  expect(seenAtCharge.length).toBeGreaterThan(0);
  for (const rows of seenAtCharge) expect(rows).toEqual([{ kind: 'waiting', id: 'resp_timer' }]);
  expect(db.prepare('SELECT kind, id FROM policy_background_work').all()).toEqual([{ kind: 'true_up', id: 'resp_timer' }]);
});

it('with a policy source expected and no bundle yet, the work is taken up once the first bundle is applied, charged to the windows it brings', async () => {
  await startBackground('resp_waits_for_policy');
  // A sync inserts a budget before the one the request was decided under: that budget's counter moves.
  const v2 = withBudgets([{ max_limit: 99, reset_duration: '1d' }, { max_limit: 1000, reset_duration: '1d' }], 8);
  enforcer.setBundle(v2);
  clockMs += 2 * 60 * 60_000;
  // Edge Control configured, no usable saved bundle: records can be written, but no policy is applied yet.
  crashAndRestart({ policy: null, bundleExpected: true });
  await timersDueNow();
  expect(late).toEqual([]);
  expect(db.prepare('SELECT kind, id FROM policy_background_work').all()).toEqual([{ kind: 'waiting', id: 'resp_waits_for_policy' }]);
  enforcer.setBundle(v2);
  expect(await until(() => late.length > 0)).toBe(true);
  const budgets = enforcer.status().budgets;
  expect(budgets.map((b) => b.maxUsd)).toEqual([99, 1000]);
  expect(budgets[0]!.usedUsd).toBe(0);
  expect(budgets[1]!.usedUsd).toBeCloseTo(cost(100, 700), 12);
});

it('with no policy source, the work is taken up at once even with no bundle', async () => {
  await startBackground('resp_no_source');
  clockMs += 2 * 60 * 60_000;
  crashAndRestart({ policy: null, bundleExpected: false });
  expect(await until(() => late.length > 0)).toBe(true);
  expect(late).toMatchObject([{ id: 'resp_no_source', charge: { estimated: true } }]);
});

describe('a run handed over to another key, whose continuation ended reporting no usage', () => {
  const twoKeys = (active: string) => bundle({
    active_virtual_key_id: active,
    virtual_keys: ['vk-eng', 'vk-b'].map((id) => ({
      id, name: id, value: `sk-bf-${id}`, provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
      rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
    })),
  });
  const tokensOf = (id: string) => { enforcer.setBundle(twoKeys(id)); return tokensUsed(); };
  const USAGE = { prompt_tokens: 5000, completion_tokens: 3000, total_tokens: 8000 };

  async function handOver(continuationStatus: string): Promise<void> {
    enforcer.setBundle(twoKeys('vk-eng'));
    await exchange('POST', '/v1/threads/thread_1/runs', run('run_9', 'queued'), { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
    await downPastTheWait({ policy: twoKeys('vk-eng') });
    enforcer.setBundle(twoKeys('vk-b'));
    await exchange('POST', '/v1/threads/thread_1/runs/run_9/submit_tool_outputs', run('run_9', continuationStatus), { tool_outputs: [{ tool_call_id: 'call_1', output: 'o' }] });
    late.length = 0;
  }

  it('final: nothing waits under the new key, so the usage fetched later trues the old key\'s estimate up to it', async () => {
    await handOver('completed');
    const newKeyBefore = tokensOf('vk-b');
    enforcer.setBundle(twoKeys('vk-b'));
    await exchange('GET', '/v1/threads/thread_1/runs/run_9', run('run_9', 'completed', USAGE));
    expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause ?? null])).toEqual([['run_9', 8000, 'usage_reported']]);
    expect(tokensOf('vk-eng')).toBe(8000);
    expect(tokensOf('vk-b')).toBe(newKeyBefore);
  });

  it('pending: the new key waits for the run and is charged its usage, so the old key gets its whole estimate back', async () => {
    await handOver('queued');
    enforcer.setBundle(twoKeys('vk-b'));
    await exchange('GET', '/v1/threads/thread_1/runs/run_9', run('run_9', 'completed', USAGE));
    expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause ?? null])).toEqual([['run_9', 8000, null], ['run_9', 0, 'continued_under_another_key']]);
    expect(tokensOf('vk-eng')).toBe(0);
    expect(tokensOf('vk-b')).toBe(8000);
  });
});

it('a run handed over twice (A, B, then C) keeps A\'s and B\'s estimates across a crash: both given back whole once C pays the run', async () => {
  const threeKeys = (active: string) => bundle({
    active_virtual_key_id: active,
    virtual_keys: ['vk-eng', 'vk-b', 'vk-c'].map((id) => ({
      id, name: id, value: `sk-bf-${id}`, provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
      rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
    })),
  });
  const tokensOf = (id: string) => { enforcer.setBundle(threeKeys(id)); return tokensUsed(); };
  const continueUnder = async (key: string) => {
    enforcer.setBundle(threeKeys(key));
    await exchange('POST', '/v1/threads/thread_1/runs/run_3/submit_tool_outputs', run('run_3', 'queued'), { tool_outputs: [{ tool_call_id: 'call_1', output: 'o' }] });
  };
  enforcer.setBundle(threeKeys('vk-eng'));
  await exchange('POST', '/v1/threads/thread_1/runs', run('run_3', 'queued'), { assistant_id: 'asst_1', additional_instructions: PROMPT, max_completion_tokens: 2000 });
  await downPastTheWait({ policy: threeKeys('vk-eng') });
  await continueUnder('vk-b');
  await downPastTheWait({ policy: threeKeys('vk-b') });
  expect(tokensOf('vk-b')).toBeGreaterThan(0);
  await continueUnder('vk-c');
  crashAndRestart({ policy: threeKeys('vk-c') });
  expect(db.prepare("SELECT id FROM policy_background_work WHERE kind = 'handed_over' ORDER BY rowid").all()).toEqual([{ id: 'run_3' }, { id: 'run_3 #1' }]);
  await exchange('GET', '/v1/threads/thread_1/runs/run_3', run('run_3', 'completed', { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 }));
  expect(late.map((c) => [c.charge.usage.totalTokens, c.trueUp?.cause ?? null])).toEqual([[660, null], [0, 'continued_under_another_key'], [0, 'continued_under_another_key']]);
  expect(tokensOf('vk-eng')).toBe(0);
  expect(tokensOf('vk-b')).toBe(0);
  expect(tokensOf('vk-c')).toBe(660);
  expect(rowsKept()).toBe(0);
});

it('a ledger change rolled back after its price list was inserted: the next entry stores the list again', () => {
  const store = new SqliteBackgroundStore(db);
  const errors: string[] = [];
  const onError = (_err: unknown, context: string) => { errors.push(context); };
  const journal = store.journal<BackgroundJob>('waiting', onError);
  const pricing = { 'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 } };
  const job = (): BackgroundJob => ({
    target: {
      keyId: 'vk-a', keyLabel: 'vk-a', pricing, thresholds: [], provider: 'openai', model: 'gpt-4.1',
      request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' }, target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, app: 'probe',
    },
    windows: [], promptTokens: 100, outputTokens: 0,
  });
  // The work row's write fails in a way that ends the whole transaction, the price list's insert with it (as
  // SQLITE_FULL or an I/O error may).
  db.exec(`CREATE TABLE fail_once (yes INTEGER); INSERT INTO fail_once VALUES (1);
    CREATE TRIGGER fail_work BEFORE INSERT ON policy_background_work WHEN (SELECT count(*) FROM fail_once) > 0
    BEGIN SELECT RAISE(ROLLBACK, 'disk full'); END;`);
  store.atomically(() => journal.added('openai', 'resp_1', 'vk-a', job(), clockMs), onError);
  expect(errors.length).toBeGreaterThan(0);
  db.exec('DELETE FROM fail_once');
  store.atomically(() => journal.added('openai', 'resp_2', 'vk-a', job(), clockMs), onError);
  const loaded = new SqliteBackgroundStore(db).load<BackgroundJob>('waiting', clockMs, Number.POSITIVE_INFINITY);
  expect(loaded.map((e) => [e.id, e.value.target.pricing])).toEqual([['resp_2', pricing]]);
});

/** The policy database's background store, counting the rows of work waited for that it rewrites in place. */
class CountingStore extends SqliteBackgroundStore {
  rewrites = 0;
  override journal<T extends BackgroundJob | TrueUp>(kind: BackgroundKind, onError: (err: unknown, context: string) => void): BackgroundJournal<T> {
    const journal = super.journal<T>(kind, onError);
    if (kind !== 'waiting') return journal;
    return { ...journal, changed: (provider, id, value) => { this.rewrites++; journal.changed(provider, id, value); } };
  }
}

/** A poll of `id` in progress carrying `outputTokens` of answer text (4 characters a token). */
const pollInProgress = (id: string, outputTokens: number) => exchange('GET', `/v1/responses/${id}`, JSON.stringify({
  ...JSON.parse(response(id, 'in_progress')) as object,
  output: [{ type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text: 'a'.repeat(4 * outputTokens), annotations: [] }] }],
}));
const answerKept = (id: string) => (JSON.parse((db.prepare("SELECT record FROM policy_background_work WHERE kind = 'waiting' AND id = ?").get(id) as { record: string }).record) as BackgroundJob).outputTokens;

describe('a poll\'s growing answer is written to policy.db now and then, not on every poll', () => {
  let store: CountingStore;
  beforeEach(() => {
    crashAndRestart({ store: (d) => (store = new CountingStore(d)) });
  });

  it('100 polls over 10 seconds, each carrying 10 tokens more: written twice, then the rest on a clean stop', async () => {
    await startBackground('resp_polled');
    for (let poll = 1; poll <= 100; poll++) {
      clockMs += 100;
      await pollInProgress('resp_polled', 10 * poll);
    }
    // Once every ANSWER_WRITE_INTERVAL_MS (5 s): at the 50th poll and the 100th.
    expect(ANSWER_WRITE_INTERVAL_MS).toBe(5_000);
    expect(store.rewrites).toBe(2);
    expect(answerKept('resp_polled')).toBe(1000);
    clockMs += 100;
    await pollInProgress('resp_polled', 1010);
    expect(store.rewrites).toBe(2);
    expect(answerKept('resp_polled')).toBe(1000);
    // A clean stop writes what was seen since.
    restart();
    expect(answerKept('resp_polled')).toBe(1010);
    await exchange('POST', '/v1/responses/resp_polled/cancel', response('resp_polled', 'cancelled'));
    expect(late).toMatchObject([{ id: 'resp_polled', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 1010 } } }]);
  });

  it('an answer grown by ANSWER_WRITE_STEP_TOKENS is written at once: a crash loses less than that of an estimate, and no usage reported', async () => {
    await startBackground('resp_grown');
    await pollInProgress('resp_grown', 300);
    expect(store.rewrites).toBe(0);
    // Grown by the step exactly since the row was written (at 0 tokens).
    await pollInProgress('resp_grown', ANSWER_WRITE_STEP_TOKENS);
    expect(store.rewrites).toBe(1);
    await pollInProgress('resp_grown', 1500);
    expect(store.rewrites).toBe(1);
    crashAndRestart();
    // The prompt (what it holds) and an answer short of the one seen by less than the step.
    expect(answerKept('resp_grown')).toBe(ANSWER_WRITE_STEP_TOKENS);
    // Its usage, fetched back, is charged whole whatever the row said of the answer.
    await fetchBack('resp_grown', { input_tokens: 100, output_tokens: 1600 });
    expect(tokensUsed()).toBe(1700);
  });
});

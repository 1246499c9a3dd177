import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import type { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';
import { NOW } from './support.js';

/**
 * Work given up and charged an estimate, then continued (tool outputs submitted to a run), is waited for again with the
 * continuation's prompt added. When that change is rolled back (a full disk), the continuation is still settled through
 * the work (charged as an exchange as well, the run was charged twice once it reported usage: reverted in f7a95f6), so
 * the estimate left open keeps the continuation's prompt: charged if the run ends reporting no usage, covered by the
 * usage if it reports some. Before, the prompt was charged nowhere when the run reported none.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);
const TOKENS_WINDOW = allKeyWindows(POLICY, 'vk-a').find((w) => w.metric === 'tokens')!.counterKey;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-continued-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
let counters: SqliteCounterStore;
let late: BackgroundCharge[];
let errors: string[];
let clockMs: number;
beforeEach(() => {
  late = [];
  errors = [];
  clockMs = NOW.getTime();
  start();
});
afterEach(() => {
  cleanUp(dir, db, charging);
  fs.mkdirSync(dir, { recursive: true });
  db = undefined;
});

/** A run of Edge over the policy database in `dir` (a restart: the same file, a new one). */
function start(): void {
  db ??= openPolicyDatabase(path.join(dir, 'policy.db'));
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  ({ charging, counters } = chargingOver(db, { bundle: () => POLICY, onError, late, now: () => new Date(clockMs) }));
  charging.takeUp();
}

function crashAndRestart(): void {
  db!.close();
  db = undefined;
  start();
}

const tokensCharged = () => counters.snapshot([TOKENS_WINDOW]).get(TOKENS_WINDOW)?.value;

/** A request continuing `id` (tool outputs submitted to its run) under `keyId`, its run going on. */
const continuing = (id: string, keyId: string, promptTokens: number) => ({
  provider: 'openai', job: { id, status: 'in_progress', detached: true }, keyId, promptTokens,
  usage: undefined, outputTokens: 0, answeredModel: undefined,
});

/** run_a given up (crowded out by run_b: a key holds one entry here), then continued with a prompt of 5,000 tokens whose change is rolled back. */
function continueGivenUpRunRolledBack(): void {
  expect(charging!.leaveRunning('openai', 'run_a', job())).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_b', job())).toBe(true);
  // Its worst case: the prompt of 100 and 2,000 of answer.
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens])).toEqual([['run_a', 2100]]);

  db!.exec(`CREATE TRIGGER fail_waiting_again BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'waiting' AND NEW.id = 'run_a'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  const settledThroughTheWork = charging!.continueWork({
    provider: 'openai', job: { id: 'run_a', status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 5000,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  });
  db!.exec('DROP TRIGGER fail_waiting_again');
  expect(errors).toEqual(['keeping background work waiting: database or disk is full']);
  expect(settledThroughTheWork).toBe(true);
}

it('a rolled-back continuation of an estimate is charged its prompt when the run ends reporting no usage', async () => {
  continueGivenUpRunRolledBack();
  await fetchBackRun(charging!, 'run_a', 'completed');
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([['run_a', 5100, 'no_usage', 5000]]);
  expect(tokensCharged()).toBe(7100);
});

it('a rolled-back continuation of an estimate is charged once when the run reports its usage, which covers its prompt', async () => {
  continueGivenUpRunRolledBack();
  await fetchBackRun(charging!, 'run_a', 'completed', { prompt_tokens: 5100, completion_tokens: 1900, total_tokens: 7000 });
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause])).toEqual([['run_a', 7000, 'usage_reported']]);
  expect(tokensCharged()).toBe(7000);
});

it('a rolled-back continuation\'s prompt kept with the estimate outlives a crash', async () => {
  continueGivenUpRunRolledBack();
  crashAndRestart();
  await fetchBackRun(charging!, 'run_a', 'completed');
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause])).toEqual([['run_a', 5100, 'no_usage']]);
  expect(tokensCharged()).toBe(7100);
});

it('a rolled-back continuation\'s prompt goes with the run when it is continued again, and is charged once', async () => {
  continueGivenUpRunRolledBack();
  expect(charging!.continueWork({
    provider: 'openai', job: { id: 'run_a', status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 1000,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  })).toBe(true);
  await fetchBackRun(charging!, 'run_a', 'completed');
  // Waited for again, run_a crowds run_b out (given up: its worst case, 2,100); ended reporting no usage, run_a is
  // charged the prompts and the answer seen (none), 6,100 from the 2,100 charged before.
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause])).toEqual([['run_b', 100, undefined], ['run_a', 6100, 'no_usage']]);
  expect(tokensCharged()).toBe(2100 + 6100);
});

it('a rolled-back continuation\'s prompt is charged when its estimate expires, the run never fetched again', () => {
  continueGivenUpRunRolledBack();
  clockMs += 24 * 60 * 60_000 + 1;
  // Anything that looks an estimate up drops the expired ones first.
  expect(charging!.continueWork(continuing('run_other', 'vk-a', 10))).toBe(false);
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([['run_a', 5100, 'expired', 5000]]);
  // Into the window running now: the 2,100 charged a day ago went to the one before.
  expect(tokensCharged()).toBe(5000);
});

it('a rolled-back continuation\'s prompt is charged when another key continues the run, whose usage may never come', () => {
  continueGivenUpRunRolledBack();
  // Continued under vk-b: charged as an exchange of vk-b's own (by the enforcer, not here); vk-a's estimate stands.
  expect(charging!.continueWork(continuing('run_a', 'vk-b', 300))).toBe(false);
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([['run_a', 5100, 'continued_under_another_key', 5000]]);
  expect(tokensCharged()).toBe(7100);
});

it('a rolled-back continuation\'s prompt is charged when its estimate expires while charges wait for the first bundle, once that comes', () => {
  continueGivenUpRunRolledBack();
  db!.close();
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  let bundle: typeof POLICY | undefined = undefined;
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  ({ charging, counters } = chargingOver(db, { bundle: () => bundle, onError, late, now: () => new Date(clockMs) }));
  charging.takeUp({ deferCharges: true });
  clockMs += 24 * 60 * 60_000 + 1;
  // Looked up with no windows to charge: the expired estimate stays, nothing is recorded as charged.
  expect(charging.continueWork(continuing('run_other', 'vk-a', 10))).toBe(false);
  expect(late.slice(1)).toEqual([]);
  bundle = POLICY;
  charging.chargeDeferred();
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([['run_a', 5100, 'expired', 5000]]);
  expect(tokensCharged()).toBe(5000);
  expect(errors.slice(1)).toEqual([]);
});

it('a rolled-back continuation\'s prompt carried into the run waited for again is charged when another key continues the run', () => {
  continueGivenUpRunRolledBack();
  // Continued again under vk-a: waited for from the estimate, the kept prompt (5,000) and this one (10) in its prompt.
  expect(charging!.continueWork(continuing('run_a', 'vk-a', 10))).toBe(true);
  expect(charging!.continueWork(continuing('run_a', 'vk-b', 300))).toBe(false);
  // Waited for again, run_a crowded run_b out (its worst case, 2,100); handed over, vk-a's estimate grows by both prompts.
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([
    ['run_b', 100, undefined, undefined], ['run_a', 5110, 'continued_under_another_key', 5010],
  ]);
  expect(tokensCharged()).toBe(2100 + 2100 + 5010);
});

it('a committed continuation\'s prompt in the run waited for again is charged when another key continues the run', async () => {
  expect(charging!.leaveRunning('openai', 'run_a', job())).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_b', job())).toBe(true);
  expect(charging!.continueWork(continuing('run_a', 'vk-a', 5000))).toBe(true);
  expect(charging!.continueWork(continuing('run_a', 'vk-b', 300))).toBe(false);
  // The run ends reporting no usage: vk-a's estimate, handed over, stands as raised.
  await fetchBackRun(charging!, 'run_a', 'completed');
  expect(late.map((c) => [c.id, c.charge.usage.inputTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([
    ['run_a', 100, undefined, undefined], ['run_b', 100, undefined, undefined], ['run_a', 5100, 'continued_under_another_key', 5000],
  ]);
  expect(tokensCharged()).toBe(2100 + 2100 + 5000);
});

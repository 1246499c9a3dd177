import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging, Continuation } from '../../src/policy/background-charging.js';
import type { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import type { TrueUp } from '../../src/policy/background-true-ups.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob, timersDueNow } from './background-agent.js';
import { NOW } from './support.js';

/**
 * Estimates stay kept past their age while charges wait for the first bundle (BackgroundTrueUps deferExpiry), and
 * close once it comes (chargeDeferred). Three ways that went wrong: a stop before the bundle left them never to expire;
 * one past its age crowded out by its own key's newer estimate was raised to its worst case instead of closing as it
 * stands; and a record whose close threw made chargeDeferred throw, the give-ups put off with it never made.
 */

const POLICY = oneKeyPolicy();
const TOKENS_WINDOW = allKeyWindows(POLICY, 'vk-a').find((w) => w.metric === 'tokens')!.counterKey;
const DAY = 24 * 60 * 60_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'background-expiry-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging;
let counters: SqliteCounterStore;
let late: BackgroundCharge[];
let errors: string[];
let clockMs: number;
let bundle: typeof POLICY | undefined;

beforeEach(() => {
  late = [];
  errors = [];
  clockMs = NOW.getTime();
  bundle = POLICY;
  start();
});
afterEach(() => {
  cleanUp(dir, db, charging);
  fs.mkdirSync(dir, { recursive: true });
  db = undefined;
});

function start(options: { deferCharges?: boolean } = {}): void {
  db ??= openPolicyDatabase(path.join(dir, 'policy.db'));
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  ({ charging, counters } = chargingOver(db, { bundle: () => bundle, onError, late, now: () => new Date(clockMs) }));
  charging.takeUp(options);
}

/** A restart whose charges wait for the first bundle (no bundle saved, one coming). */
function restartWaitingForTheBundle(): void {
  db?.close();
  db = undefined;
  bundle = undefined;
  start({ deferCharges: true });
}

const tokensCharged = () => counters.snapshot([TOKENS_WINDOW]).get(TOKENS_WINDOW)?.value;
const charged = () => late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause]);
const continuing = (id: string): Continuation => ({
  provider: 'openai', job: { id, status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 1, usage: undefined, outputTokens: 0, answeredModel: undefined,
});

it('a stop before the first bundle does not leave estimates kept past their age for good', () => {
  expect(charging.leaveRunning('openai', 'run_a', threadRunJob(POLICY))).toBe(true);
  // run_a crowded out by its own key: given up, its estimate (2100) kept open.
  expect(charging.leaveRunning('openai', 'run_b', threadRunJob(POLICY))).toBe(true);
  restartWaitingForTheBundle();
  charging.releaseAll();
  bundle = POLICY;
  charging.chargeDeferred();
  clockMs += DAY + 1;
  // Any later look at the estimates drops those past their age, row and all.
  expect(charging.continueWork(continuing('run_other'))).toBe(false);
  expect(backgroundRows(db!).filter((row) => (row as { kind: string }).kind === 'true_up')).toEqual([]);
});

it('an estimate past its age when its own key\'s newer estimate crowds it out closes as it stands, not raised to its worst case', async () => {
  expect(charging.leaveRunning('openai', 'run_a', threadRunJob(POLICY))).toBe(true);
  // Cancelled: charged its prompt (100), open for a worst case of 2100.
  await fetchBackRun(charging, 'run_a', 'cancelled');
  expect(charging.leaveRunning('openai', 'run_b', threadRunJob(POLICY))).toBe(true);
  expect(charged()).toEqual([['run_a', 100, undefined]]);
  // Taken up within its day, which runs out before the bundle comes.
  clockMs += DAY - 60_000;
  restartWaitingForTheBundle();
  await fetchBackRun(charging, 'run_b', 'cancelled');
  clockMs += 120_000;
  bundle = POLICY;
  // run_b's estimate, kept now, is the one its key may hold: run_a's, past its age, goes.
  charging.chargeDeferred();
  expect(charged()).toEqual([['run_a', 100, undefined], ['run_b', 100, undefined]]);
  expect(tokensCharged()).toBe(100);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_b' }]);
  expect(errors).toEqual([]);
});

it('an estimate whose close throws once the first bundle comes is told, and the give-ups put off with it are made', async () => {
  expect(charging.leaveRunning('openai', 'run_w', threadRunJob(POLICY))).toBe(true);
  db!.close();
  db = undefined;
  clockMs += 2 * DAY;
  // A record that cannot be charged (no windows), with a prompt to charge as it closes, within its day at the start.
  const raw = openPolicyDatabase(path.join(dir, 'policy.db'));
  const keptAtMs = clockMs - DAY + 1000;
  const malformed = { target: { keyId: 'vk-a' }, keptAtMs, continuedPromptTokens: 5 } as unknown as TrueUp;
  new SqliteBackgroundStore(raw).journal<TrueUp>('true_up', (err) => { throw err; }).added('openai', 'run_x', 'vk-a', malformed, keptAtMs);
  raw.close();
  restartWaitingForTheBundle();
  // run_w's wait, run out while Edge was down, ends on its timer: its give-up put off until the bundle.
  await timersDueNow();
  expect(late).toEqual([]);
  clockMs += 2000;
  bundle = POLICY;
  expect(() => charging.chargeDeferred()).not.toThrow();
  // Told, and gone with its row: put back, it threw again in every later change (run_w's give-up the first).
  expect(errors).toEqual([expect.stringMatching(/^closing the estimate of run_x: /)]);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_w' }]);
  // run_w, whose wait ran out while Edge was down, is given up: its worst case charged.
  expect(charged()).toEqual([['run_w', 2100, undefined]]);
  expect(tokensCharged()).toBe(2100);
});

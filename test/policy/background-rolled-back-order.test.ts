import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';
import { NOW } from './support.js';

/**
 * A change of background work rolled back (a full disk) puts back in memory what it took (background-change.ts), where
 * it was: the order decides which entry a key's flood crowds out first, and which estimate expires first. Put back as
 * the newest, a newer entry was crowded out in its place, and an estimate dropped for its age by the rolled-back change
 * was not put back at all while its row stayed.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);
const USAGE = { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 };
const DAY_MS = 24 * 60 * 60_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-order-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
let late: BackgroundCharge[];
let errors: string[];
let clockMs: number;
beforeEach(() => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  late = [];
  errors = [];
  clockMs = NOW.getTime();
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  // Two entries and two estimates a key (a tenth of 20 each).
  charging = chargingOver(db, { bundle: () => POLICY, onError, late, maxPending: 20, maxTrueUps: 20, now: () => new Date(clockMs) }).charging;
});
afterEach(() => {
  cleanUp(dir, db, charging);
  fs.mkdirSync(dir, { recursive: true });
});

/** `work` runs while every `statement` on background rows fails as a full disk does (SQLite ends the transaction). */
function failing<T>(statement: string, work: () => T): T {
  db!.exec(`CREATE TRIGGER fail_write BEFORE ${statement} ON policy_background_work BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  try {
    return work();
  } finally {
    db!.exec('DROP TRIGGER fail_write');
  }
}

it('an entry whose take is rolled back is waited for in its place: the key\'s next entry crowds it out, not the newer one', async () => {
  expect(charging!.leaveRunning('openai', 'run_1', job())).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_2', job())).toBe(true);
  await failing('DELETE', () => fetchBackRun(charging!, 'run_1', 'completed', USAGE));
  expect(errors).toEqual(['forgetting background work waiting: database or disk is full']);
  expect(late).toEqual([]);

  expect(charging!.leaveRunning('openai', 'run_3', job())).toBe(true);
  expect(late.map((c) => [c.id, c.trueUp?.cause ?? c.charge.estimated])).toEqual([['run_1', true]]);
  expect(backgroundRows(db!)).toEqual([{ kind: 'waiting', id: 'run_2' }, { kind: 'true_up', id: 'run_1' }, { kind: 'waiting', id: 'run_3' }]);
});

it('an estimate whose true-up is rolled back stays open in its place: the key\'s next estimate crowds it out, not the newer one', async () => {
  for (const id of ['run_1', 'run_2']) {
    expect(charging!.leaveRunning('openai', id, job())).toBe(true);
    await fetchBackRun(charging!, id, 'completed');
  }
  expect(late.map((c) => c.id)).toEqual(['run_1', 'run_2']);
  await failing('DELETE', () => fetchBackRun(charging!, 'run_1', 'completed', USAGE));
  expect(errors).toEqual(['forgetting background work true_up: database or disk is full']);
  expect(late).toHaveLength(2);

  expect(charging!.leaveRunning('openai', 'run_3', job())).toBe(true);
  await fetchBackRun(charging!, 'run_3', 'completed');
  // Crowded out by its own key, an estimate is raised to its worst case.
  expect(late.slice(2).map((c) => [c.id, c.trueUp?.cause])).toEqual([['run_1', 'crowded_out'], ['run_3', undefined]]);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_2' }, { kind: 'true_up', id: 'run_3' }]);
});

it('an estimate dropped for its age by a change rolled back is open again until a change that holds drops it, row and all', async () => {
  expect(charging!.leaveRunning('openai', 'run_old', job())).toBe(true);
  await fetchBackRun(charging!, 'run_old', 'completed');
  clockMs += DAY_MS + 60_000;
  expect(charging!.leaveRunning('openai', 'run_new', job())).toBe(true);
  // Its final state keeps an estimate, which first drops run_old's, past its day; the estimate's row cannot be written.
  await failing('INSERT', () => fetchBackRun(charging!, 'run_new', 'completed'));
  expect(errors).toEqual(['keeping background work true_up: database or disk is full']);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_old' }, { kind: 'waiting', id: 'run_new' }]);

  // Not put back, run_old was gone from memory while its row stayed, and no later change dropped it.
  await fetchBackRun(charging!, 'run_new', 'completed');
  expect(late.map((c) => c.id)).toEqual(['run_old', 'run_new']);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_new' }]);
});

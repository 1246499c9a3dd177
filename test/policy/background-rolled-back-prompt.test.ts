import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { chargingOver, cleanUp, fetchBackRun, leftWaiting, oneKeyPolicy, threadRunJob } from './background-agent.js';

/**
 * A request continuing work Edge waits for (tool outputs submitted to a run) adds its prompt to the work's entry, and
 * is not charged as an exchange of its own. When that entry's row write is rolled back (a full disk), the continuation
 * is still settled through the entry (charged as an exchange too, the run would be charged twice): its prompt stays in
 * memory, and must reach the row later. Rolled back with the row alone, a clean stop wrote only a grown answer, and
 * after the restart the continuation's prompt was charged nowhere.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-prompt-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
let late: BackgroundCharge[];
let errors: string[];
afterEach(() => {
  cleanUp(dir, db, charging);
  charging = undefined;
  db = undefined;
});

/** A run of Edge on the policy database in `dir` (a restart: the same file, a new one). */
function start(policy: () => typeof POLICY | undefined = () => POLICY): BackgroundCharging {
  db ??= openPolicyDatabase(path.join(dir, 'policy.db'));
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  charging = chargingOver(db, { bundle: policy, onError, late }).charging;
  return charging;
}

function restart(): BackgroundCharging {
  charging!.releaseAll();
  db!.close();
  db = undefined;
  const next = start();
  next.takeUp();
  return next;
}

/** The run's row write fails as a full disk does while `work` runs (SQLite ends the transaction). */
function withRowUpdatesFailing<T>(work: () => T): T {
  db!.exec(`CREATE TRIGGER fail_update BEFORE UPDATE ON policy_background_work
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  try {
    return work();
  } finally {
    db!.exec('DROP TRIGGER fail_update');
  }
}

function continueRun(id: string): boolean {
  return charging!.continueWork({
    provider: 'openai', job: { id, status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 5000,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  });
}

const fetchBack = (id: string, status: 'in_progress' | 'completed') => fetchBackRun(charging!, id, status);

const rowPrompt = (id: string) => {
  const row = db!.prepare('SELECT record FROM policy_background_work WHERE id = ?').get(id) as { record: string } | undefined;
  return row ? (JSON.parse(row.record) as BackgroundJob).promptTokens : undefined;
};

it('a continuation whose row write is rolled back keeps its prompt: a clean stop writes it, the next start charges it', async () => {
  late = [];
  errors = [];
  start().takeUp();
  expect(charging!.leaveRunning('openai', 'run_a', job())).toBe(true);

  // Settled through the entry all the same (not charged as an exchange): the entry is where its prompt is charged.
  expect(withRowUpdatesFailing(() => continueRun('run_a'))).toBe(true);
  expect(errors).toEqual(['updating background work waiting: database or disk is full']);
  expect(rowPrompt('run_a')).toBe(100);

  restart();
  expect(rowPrompt('run_a')).toBe(5100);
  await fetchBack('run_a', 'completed');
  expect(late.map((c) => [c.id, c.charge.usage.inputTokens, c.charge.estimated])).toEqual([['run_a', 5100, true]]);
});

it('a continuation whose row write is rolled back: the next poll writes its prompt, whatever answer it carried', async () => {
  late = [];
  errors = [];
  start().takeUp();
  expect(charging!.leaveRunning('openai', 'run_a', job())).toBe(true);
  expect(withRowUpdatesFailing(() => continueRun('run_a'))).toBe(true);
  expect(rowPrompt('run_a')).toBe(100);

  // A crash after this poll keeps the prompt as well.
  await fetchBack('run_a', 'in_progress');
  expect(rowPrompt('run_a')).toBe(5100);
});

it('a continuation of an entry crowded out at a deferred take-up, rolled back: a clean stop writes its prompt', () => {
  late = [];
  errors = [];
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  // One entry per key here (maxPending 10: a tenth each): run_new crowds run_old out at the take-up.
  leftWaiting(db, ['run_old', 'run_new'], job);
  start(() => undefined).takeUp({ deferCharges: true });

  expect(withRowUpdatesFailing(() => continueRun('run_old'))).toBe(true);
  expect(rowPrompt('run_old')).toBe(100);
  charging!.releaseAll();
  expect(rowPrompt('run_old')).toBe(5100);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import type { Notice, NoticeDraft } from '../../src/policy/notices.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';
import { NOW } from './support.js';

/**
 * A late charge past a budget threshold raises its alert once the change it belongs to commits. A change rolled back
 * (a full disk) charged nothing, and its alert's mark is rolled back with it: published at once, the alert went out
 * for a charge never made, and again when the charge was retried.
 */

const POLICY = oneKeyPolicy([{ max_limit: 0.0001, reset_duration: '1d' }]);
const job = () => threadRunJob(POLICY, [0.5]);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-alert-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => cleanUp(dir, db, charging));

const fetchBackWithoutUsage = (id: string) => fetchBackRun(charging!, id);

/** Charging over a new policy database, its late charges, errors and published alerts collected. */
function started(bounds: { maxPending?: number; maxTrueUps?: number } = {}) {
  const opened = openPolicyDatabase(path.join(dir, 'policy.db'));
  db = opened;
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  const alerts: NoticeDraft[] = [];
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  const publish = (draft: NoticeDraft): Notice => {
    alerts.push(draft);
    return { ...draft, id: alerts.length, at: NOW.toISOString() } as unknown as Notice;
  };
  ({ charging } = chargingOver(opened, { bundle: () => POLICY, onError, publish, late, ...bounds }));
  return { late, errors, alerts };
}

it('a budget alert raised by a late charge that is rolled back is not published; the retry publishes it once', async () => {
  const { late, errors, alerts } = started();
  expect(charging!.leaveRunning('openai', 'run_x', job())).toBe(true);

  // Its final state reports no usage: charged an estimate (past half the budget), and the estimate's row fails.
  db!.exec(`CREATE TRIGGER fail_true_up BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'true_up'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  await fetchBackWithoutUsage('run_x');
  expect(errors).toHaveLength(1);
  expect(late).toHaveLength(0);
  expect(alerts).toHaveLength(0);

  db!.exec('DROP TRIGGER fail_true_up');
  await fetchBackWithoutUsage('run_x');
  expect(late).toHaveLength(1);
  expect(alerts).toHaveLength(1);
  // The charge recorded carries the alert it raised: published after commit, pushed into the charge's alerts before the
  // record is made (window-charges.ts chargeTo: their afterCommit callbacks run in order).
  expect(late[0]!.charge.alerts.map((a) => [a.kind, a.why.errorType])).toEqual([['budget_alert', 'budget_50']]);
});

it('an alert that went out is neither sent again nor forgotten by a later change in its window that is rolled back', async () => {
  // Two entries a key (a tenth of 20): run_y waits beside run_x.
  const { late, errors, alerts } = started({ maxPending: 20, maxTrueUps: 20 });
  expect(charging!.leaveRunning('openai', 'run_x', job())).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_y', job())).toBe(true);
  await fetchBackWithoutUsage('run_x');
  expect(alerts.map((a) => a.why.errorType)).toEqual(['budget_50']);

  // run_y's charge, past the same threshold of the same window, is rolled back: its mark was there already.
  db!.exec(`CREATE TRIGGER fail_true_up BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'true_up' AND NEW.id = 'run_y'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  await fetchBackWithoutUsage('run_y');
  db!.exec('DROP TRIGGER fail_true_up');
  expect(errors).toHaveLength(1);
  await fetchBackWithoutUsage('run_y');
  expect(late.map((c) => c.id)).toEqual(['run_x', 'run_y']);
  expect(alerts).toHaveLength(1);
  expect(late[1]!.charge.alerts).toEqual([]);
  const marks = db!.prepare('SELECT threshold FROM policy_alerts').all();
  expect(marks).toEqual([{ threshold: 0.5 }]);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, leftWaiting, oneKeyPolicy, PAST_THE_WAIT_MS, threadRunJob } from './background-agent.js';

/**
 * Work taken up at a start that waits for the first bundle can be crowded out by the entries taken up after it (a key
 * holds one here): its give-up waits for the bundle. A final state of it fetched back meanwhile is charged then, its
 * usage rather than its worst case: the crowded-out entry is still found by its id. Not found, the fetch went unseen,
 * and the work was charged its worst case.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-crowded-out-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  vi.useRealTimers();
  cleanUp(dir, db, charging);
  fs.mkdirSync(dir, { recursive: true });
});

it('an entry crowded out at a deferred take-up, fetched back before the first bundle, is charged its usage', async () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  leftWaiting(db, ['run_old', 'run_new'], job);
  const late: BackgroundCharge[] = [];
  let policy: typeof POLICY | undefined = undefined; // no bundle until the take-up has met the fetch
  ({ charging } = chargingOver(db, { bundle: () => policy, late }));
  charging.takeUp({ deferCharges: true });

  await fetchBackRun(charging, 'run_old', 'completed', { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 });
  policy = POLICY;
  charging.chargeDeferred();

  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.charge.estimated ?? false])).toEqual([['run_old', 150, false]]);
  expect(backgroundRows(db)).toEqual([{ kind: 'waiting', id: 'run_new' }]);
});

it('an entry crowded out before the first bundle whose give-up is rolled back waits again with one timer, crowding out nothing', () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  let policy: typeof POLICY | undefined = undefined;
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  ({ charging } = chargingOver(db, { bundle: () => policy, late, onError }));
  charging.takeUp({ deferCharges: true });
  expect(charging.leaveRunning('openai', 'run_1', job())).toBe(true);
  // A key holds one: run_1 is crowded out, its give-up put off for the bundle.
  expect(charging.leaveRunning('openai', 'run_2', job())).toBe(true);

  policy = POLICY;
  db.exec(`CREATE TRIGGER fail_write BEFORE DELETE ON policy_background_work BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  charging.chargeDeferred();
  db.exec('DROP TRIGGER fail_write');

  // Put back, run_1 crowded out nothing (run_2 again, or itself: a give-up inside the rollback, failing once more).
  expect(errors).toEqual(['forgetting background work waiting: database or disk is full']);
  expect(late).toEqual([]);
  expect(backgroundRows(db)).toEqual([{ kind: 'waiting', id: 'run_1' }, { kind: 'waiting', id: 'run_2' }]);
  expect(vi.getTimerCount()).toBe(2);

  vi.advanceTimersByTime(PAST_THE_WAIT_MS);
  expect(late.map((c) => c.id).sort()).toEqual(['run_1', 'run_2']);
  expect(backgroundRows(db).filter((row) => (row as { kind: string }).kind === 'waiting')).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
});

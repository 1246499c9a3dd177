import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';

/**
 * Work remembered crowds out its key's oldest entry (a key holds one here), which is given up and charged in the same
 * change. A write of that give-up that fails rolls the whole change back, in memory too (background-change.ts): the
 * old entry is waited for again and the new one is not remembered. Undone in the database only, the old entry was
 * gone from memory uncharged, and the new one waited in memory with no row.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-crowding-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => cleanUp(dir, db, charging));

it('a crowding-out whose give-up cannot be written leaves the old entry waited for and the new one not remembered', async () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  const { charging: started, counters } = chargingOver(db, { bundle: () => POLICY, onError, late });
  charging = started;
  const rows = () => backgroundRows(db!);

  expect(charging.leaveRunning('openai', 'run_old', job())).toBe(true);
  db.exec(`CREATE TRIGGER fail_true_up BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'true_up'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  expect(charging.leaveRunning('openai', 'run_new', job())).toBe(false);
  db.exec('DROP TRIGGER fail_true_up');
  expect(errors).toEqual(['keeping background work true_up: database or disk is full']);
  expect(late).toEqual([]);
  expect(rows()).toEqual([{ kind: 'waiting', id: 'run_old' }]);
  const charged = () => [...counters.snapshot(allKeyWindows(POLICY, 'vk-a').map((w) => w.counterKey)).values()].reduce((sum, c) => sum + c.value, 0);
  expect(charged()).toBe(0);

  // The old entry is still found: its final state fetched back is charged its usage.
  await fetchBackRun(charging, 'run_old', 'completed', { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 });
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.charge.estimated ?? false])).toEqual([['run_old', 150, false]]);
  expect(rows()).toEqual([]);
  expect(charged()).toBeGreaterThan(0);
});

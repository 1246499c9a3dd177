import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, leftWaiting, oneKeyPolicy, threadRunJob } from './background-agent.js';

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
afterEach(() => cleanUp(dir, db, charging));

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

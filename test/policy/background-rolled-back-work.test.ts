import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import type { PerKeyBoundedMap } from '../../src/policy/per-key-bounded-map.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';
import { countMapWrites } from './background-map-work.js';
import { NOW } from './support.js';

/**
 * While writes fail (a full disk), every change of the background ledger drops the estimates past their day and its
 * rollback puts them back (background-true-ups.ts dropExpired). Put back one by one, each emptied and refilled the
 * whole map: a fetch that failed cost EXPIRED passes over N estimates (0.5 to 0.7 s with 20,000), on every try. Now the
 * order is mended once a rollback, in one pass. Counted in writes to the map, not timed.
 */

const POLICY = oneKeyPolicy();
const DAY_MS = 24 * 60 * 60_000;
const N = 2_000;
const EXPIRED = 10;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-work-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => cleanUp(dir, db, charging));

it(`a fetch whose change is rolled back after dropping ${EXPIRED} expired estimates of ${N} costs one pass over them, not one per estimate`, async () => {
  let clockMs = NOW.getTime();
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  const open = () => {
    db = openPolicyDatabase(path.join(dir, 'policy.db'));
    const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
    charging = chargingOver(db, { bundle: () => POLICY, late, maxPending: 10 * N, maxTrueUps: 10 * N, now: () => new Date(clockMs), onError }).charging;
    charging.takeUp();
  };
  // One estimate written the ordinary way, copied N times (the first EXPIRED older by half a day), read back by a restart.
  open();
  expect(charging!.leaveRunning('openai', 'seed', threadRunJob(POLICY))).toBe(true);
  await fetchBackRun(charging!, 'seed', 'completed');
  db!.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${N})
    INSERT INTO policy_background_work (kind, provider, id, key_id, since_ms, record)
    SELECT 'true_up', provider, 'run_' || i, key_id, since_ms,
      json_set(record, '$.keptAtMs', json_extract(record, '$.keptAtMs') - CASE WHEN i < ${EXPIRED} THEN ${DAY_MS / 2 + 60_000} ELSE 0 END)
    FROM n, (SELECT * FROM policy_background_work WHERE id = 'seed')`);
  db!.exec("DELETE FROM policy_background_work WHERE id = 'seed'");
  db!.close();
  open();
  late.length = 0;
  const estimates = (charging as unknown as { trueUps: { kept: PerKeyBoundedMap<object> } }).trueUps.kept;
  expect(estimates.size).toBe(N);

  clockMs += DAY_MS / 2 + 1;
  expect(charging!.leaveRunning('openai', 'run_new', threadRunJob(POLICY))).toBe(true);
  db!.exec(`CREATE TRIGGER fail_write BEFORE INSERT ON policy_background_work BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  const work = countMapWrites(estimates);
  for (let tries = 1; tries <= 3; tries++) {
    const before = work.writes;
    await fetchBackRun(charging!, 'run_new', 'completed');
    expect(errors).toHaveLength(tries);
    expect(estimates.size).toBe(N);
    // The order mended once (a clear and N sets), and a few writes each for the expired and the estimate kept and taken
    // back; mended at each put-back, the map was emptied and refilled once per expired estimate: EXPIRED * 2N.
    expect(work.writes - before).toBeLessThan(2 * N);
  }
  db!.exec('DROP TRIGGER fail_write');
  expect(late).toEqual([]);
  await fetchBackRun(charging!, 'run_new', 'completed');
  expect(estimates.size).toBe(N - EXPIRED + 1);
});

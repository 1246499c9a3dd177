import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { chargingOver, cleanUp, leftWaiting, oneKeyPolicy, threadRunJob } from './background-agent.js';

/**
 * An entry crowded out at a take-up that waits for the first bundle is still found by its id (so a fetch of it is
 * charged its usage). A request continuing it meanwhile (tool outputs submitted to a run) is then settled through it,
 * and not charged as an exchange of its own: its prompt must go into that entry, or it is charged nowhere.
 */

const POLICY = oneKeyPolicy();
const job = () => threadRunJob(POLICY);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-crowded-out-continued-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => cleanUp(dir, db, charging));

it('a continuation of an entry crowded out at a deferred take-up adds its prompt to that entry', () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  // One entry per key here (maxPending 10: a tenth each): run_new crowds run_old out at the take-up.
  leftWaiting(db, ['run_old', 'run_new'], job);
  const late: BackgroundCharge[] = [];
  let policy: typeof POLICY | undefined = undefined; // no bundle until the take-up has met the continuation
  ({ charging } = chargingOver(db, { bundle: () => policy, late }));
  charging.takeUp({ deferCharges: true });

  const continued = charging.continueWork({
    provider: 'openai', job: { id: 'run_old', status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 5000,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  });
  // Settled through the entry (the enforcer does not charge it as an exchange): so the entry must carry its prompt.
  expect(continued).toBe(true);
  const row = db.prepare("SELECT record FROM policy_background_work WHERE id = 'run_old'").get() as { record: string };
  expect((JSON.parse(row.record) as BackgroundJob).promptTokens).toBe(5100);

  policy = POLICY;
  charging.chargeDeferred();
  // Given up: its prompt (100, and the continuation's 5,000) and its worst-case answer (2,000).
  expect(late.filter((c) => c.id === 'run_old').map((c) => c.charge.usage.inputTokens)).toEqual([5100]);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BackgroundCharge, BackgroundCharging } from '../../src/policy/background-charging.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { BackgroundAgent, PAST_THE_WAIT_MS } from './background-agent.js';
import { backgroundRows, chargingOver, cleanUp, fetchBackRun, oneKeyPolicy, threadRunJob } from './background-agent.js';
import { until } from '../support/until.js';

/**
 * A final state fetched back before the first bundle is settled once that bundle comes (background-charging.ts takeUp
 * deferCharges). Of work waited for it was kept in the work's row; of work that is only an estimate open for a true-up,
 * or estimates of keys it was handed over from, in memory only: a crash or a stop before the bundle lost it, and the
 * estimates stood (a worst case kept for good). It is now kept in the estimate's row too, and the next start settles it.
 */

let agent: BackgroundAgent | undefined;
afterEach(() => agent?.stop());

/** resp_x started, given up at a restart past its wait (its worst case, 800, left open), and Edge restarted again with no bundle yet. */
async function givenUpThenRestartedWithoutABundle(): Promise<BackgroundAgent> {
  const edge = new BackgroundAgent();
  agent = edge;
  edge.start();
  await edge.startBackground('resp_x');
  edge.clockMs += PAST_THE_WAIT_MS;
  edge.crashAndRestart();
  expect(await until(() => edge.late.length > 0)).toBe(true);
  expect(edge.charged()).toEqual([['resp_x', 800, true]]);
  edge.crashAndRestart({ policy: null, bundleExpected: true });
  return edge;
}

it('a final state of an open estimate fetched back before the first bundle outlives a crash: the next start trues the estimate up', async () => {
  const edge = await givenUpThenRestartedWithoutABundle();
  await edge.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  expect(edge.late).toEqual([]);
  expect(edge.rows()).toEqual([{ kind: 'true_up', id: 'resp_x' }]);

  edge.crashAndRestart();
  expect(edge.late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.difference.totalTokens])).toEqual([['resp_x', 150, -650]]);
  expect(edge.tokensUsed()).toBe(150);
  expect(edge.rows()).toEqual([]);
});

it('a final state of an open estimate reporting no usage, fetched before the first bundle, is settled once: a later start finds it settled', async () => {
  const edge = await givenUpThenRestartedWithoutABundle();
  // A cancel's answer carries 1,000 tokens of text: more than the 700 its worst case charged.
  await edge.exchange('POST', '/v1/responses/resp_x/cancel', JSON.stringify({
    id: 'resp_x', object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status: 'cancelled', usage: null,
    output: [{ type: 'message', id: 'msg_1', status: 'incomplete', role: 'assistant', content: [{ type: 'output_text', text: 'a'.repeat(4 * 1000), annotations: [] }] }],
  }));
  edge.enforcer.releaseBackground();
  edge.crashAndRestart();
  expect(edge.late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause])).toEqual([['resp_x', 1100, 'more_answer_seen']]);
  edge.crashAndRestart();
  expect(edge.late).toEqual([]);
  expect(edge.tokensUsed()).toBe(1100);
});

const POLICY = oneKeyPolicy();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-early-final-states-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
let late: BackgroundCharge[] = [];
afterEach(() => {
  late = [];
  if (!db) return;
  cleanUp(dir, db, charging);
  db = undefined;
});

/** A run of Edge over the policy database in `dir` (a restart: the same file), charging by `bundle`. */
function start(bundle: () => typeof POLICY | undefined): void {
  db?.close();
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  charging = chargingOver(db, { bundle, late }).charging;
}

/** The record kept in the row of `kind` for `id`. */
const rowRecord = (kind: string, id: string) => JSON.parse((db!.prepare('SELECT record FROM policy_background_work WHERE kind = ? AND id = ?').get(kind, id) as { record: string }).record);

it('a final state of work handed over to another key, fetched before the first bundle, outlives a crash: the old key\'s estimate is trued up', async () => {
  start(() => POLICY);
  charging!.takeUp();
  // run_a given up (crowded out by run_b: a key holds one entry here), then continued under vk-b: handed over.
  expect(charging!.leaveRunning('openai', 'run_a', threadRunJob(POLICY))).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_b', threadRunJob(POLICY))).toBe(true);
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens])).toEqual([['run_a', 2100]]);
  expect(charging!.continueWork({
    provider: 'openai', job: { id: 'run_a', status: 'in_progress', detached: true }, keyId: 'vk-b', promptTokens: 500,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  })).toBe(false);
  expect(backgroundRows(db!)).toEqual([{ kind: 'waiting', id: 'run_b' }, { kind: 'handed_over', id: 'run_a' }]);

  start(() => undefined);
  charging!.takeUp({ deferCharges: true });
  await fetchBackRun(charging!, 'run_a', 'completed', { prompt_tokens: 600, completion_tokens: 400, total_tokens: 1000 });
  start(() => POLICY);
  charging!.takeUp();
  // Nobody else paid the run (the continuation ended with no usage under vk-b): vk-a's estimate is trued up to it.
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause])).toEqual([['run_a', 1000, 'usage_reported']]);
  expect(backgroundRows(db!)).toEqual([{ kind: 'waiting', id: 'run_b' }]);
});

it('a final state kept with an estimate comes off it when the estimate leaves for the work waited for again: no copy of it is settled again', async () => {
  start(() => POLICY);
  charging!.takeUp();
  // run_a given up (crowded out by run_b: a key holds one entry here): an estimate open.
  expect(charging!.leaveRunning('openai', 'run_a', threadRunJob(POLICY))).toBe(true);
  expect(charging!.leaveRunning('openai', 'run_b', threadRunJob(POLICY))).toBe(true);

  start(() => undefined);
  charging!.takeUp({ deferCharges: true });
  await fetchBackRun(charging!, 'run_a', 'cancelled');
  expect(rowRecord('true_up', 'run_a').finalState).toMatchObject({ seenOutputTokens: 0 });
  // Continued by its own key: waited for again, from its estimate.
  expect(charging!.continueWork({
    provider: 'openai', job: { id: 'run_a', status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 500,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  })).toBe(true);
  expect(rowRecord('waiting', 'run_a').charged.finalState).toBeUndefined();
  charging!.chargeDeferred();
  // The final state fetched settled the work once (no usage: its prompts, an estimate kept again, then crowded out by
  // run_b's give-up and raised to its worst case).
  expect(late.slice(1).map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause])).toEqual([
    ['run_a', 600, 'no_usage'], ['run_a', 2600, 'crowded_out'], ['run_b', 2100, undefined],
  ]);
  expect(backgroundRows(db!)).toEqual([{ kind: 'true_up', id: 'run_b' }]);
});

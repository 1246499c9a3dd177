import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { lookupPrice } from '../../src/policy/pricing.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { bundle, NOW } from '../policy/support.js';

/**
 * A Foundry Agent Service run (or an Assistants run on api.openai.com) that names no `model` runs on its assistant's
 * deployment, which Edge does not look up: the request is judged on no model. What it ran on is named by the run
 * itself, in the answer to the POST and in each poll, and that is the model its usage is priced as, whether the
 * usage comes with the POST's answer or with a poll that finds the run completed.
 */

const FOUNDRY = 'contoso-foundry.services.ai.azure.com';
const RUNS = '/api/projects/proj1/threads/thread_1/runs';
const V1 = '?api-version=v1';
const USAGE = { prompt_tokens: 600, completion_tokens: 60, total_tokens: 660 };
/** What the assistant runs on, priced well apart from the fallback rates, so a charge at either tells them apart. */
const ANSWERED = 'gpt-4o-mini';

let dir: string;
let db: PolicyDatabase;
let enforcer: PolicyEnforcer;
let late: BackgroundCharge[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-foundry-run-'));
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  late = [];
  enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; },
    onBackgroundCharge: (charged) => late.push(charged),
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 100_000, token_reset_duration: '1d' },
    budgets: [{ max_limit: 50, reset_duration: '1d' }],
  }));
});

afterEach(() => {
  enforcer.releaseBackground();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (status: string, usage: unknown = null) =>
  JSON.stringify({ id: 'run_1', object: 'thread.run', thread_id: 'thread_1', assistant_id: 'asst_1', model: ANSWERED, status, usage });
const exchange = (method: string, target: string, answer: string, body?: unknown) =>
  exchangeThroughPolicy(enforcer, { host: FOUNDRY, method, target, answer, body });
const answeredPrice = lookupPrice('azure', ANSWERED);

it('the model the run names is priced apart from no model at all (what the tests below tell apart)', () => {
  expect(answeredPrice.source).not.toBe(lookupPrice('azure', null).source);
});

it('a run naming no model, completed in the POST\'s answer, is charged at the model the answer names', async () => {
  const charged = await exchange('POST', `${RUNS}${V1}`, run('completed', USAGE), { assistant_id: 'asst_1', additional_instructions: 'be terse' });
  expect(charged).toMatchObject({ usage: { inputTokens: 600, outputTokens: 60 }, priceSource: answeredPrice.source });
});

it('a run naming no model, found completed by a poll, is charged at the model the poll\'s answer names', async () => {
  expect(await exchange('POST', `${RUNS}${V1}`, run('queued'), { assistant_id: 'asst_1', additional_instructions: 'be terse' })).toBeUndefined();
  await exchange('GET', `${RUNS}/run_1${V1}`, run('in_progress'));
  expect(late).toEqual([]);
  await exchange('GET', `${RUNS}/run_1${V1}`, run('completed', USAGE));
  expect(late).toHaveLength(1);
  expect(late[0]).toMatchObject({ id: 'run_1', request: { provider: 'azure', model: null, operation: 'threads.runs' } });
  expect(late[0]!.charge).toMatchObject({ usage: { inputTokens: 600, outputTokens: 60 }, priceSource: answeredPrice.source });
});

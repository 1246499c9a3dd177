import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { BackgroundCharging, type BackgroundCharge } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { WindowCharges } from '../../src/policy/window-charges.js';
import { bundle, NOW } from './support.js';

/**
 * An entry crowded out at a take-up that waits for the first bundle is still found by its id (so a fetch of it is
 * charged its usage). A request continuing it meanwhile (tool outputs submitted to a run) is then settled through it,
 * and not charged as an exchange of its own: its prompt must go into that entry, or it is charged nowhere.
 */

const POLICY = bundle({
  virtual_keys: [{
    id: 'vk-a', name: 'vk-a', value: 'sk-bf-vk-a', provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
  }],
});

const job = (): BackgroundJob => ({
  target: {
    keyId: 'vk-a', keyLabel: 'vk-a', pricing: {}, thresholds: [], provider: 'openai', model: 'gpt-4.1',
    request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
    target: { method: 'POST', host: 'api.openai.com', path: '/v1/threads/thread_1/runs' }, app: 'probe',
  },
  windows: allKeyWindows(POLICY, 'vk-a').filter((w) => w.metric !== 'requests'), promptTokens: 100, outputTokens: 0, outputCap: 2000,
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-crowded-out-continued-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('a continuation of an entry crowded out at a deferred take-up adds its prompt to that entry', () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const store = new SqliteBackgroundStore(db);
  const journal = store.journal<BackgroundJob>('waiting', (err) => { throw err; });
  // One entry per key here (maxPending 10: a tenth each): run_new crowds run_old out at the take-up.
  journal.added('openai', 'run_old', 'vk-a', job(), NOW.getTime());
  journal.added('openai', 'run_new', 'vk-a', job(), NOW.getTime());
  const counters = new SqliteCounterStore(db);
  const late: BackgroundCharge[] = [];
  let policy: typeof POLICY | undefined = undefined; // no bundle until the take-up has met the continuation
  const now = () => NOW;
  const onError = (err: unknown) => { throw err; };
  charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish: () => { throw new Error('no alerts expected'); } }), store,
    bundle: () => policy, now, onError, onBackgroundCharge: (c) => late.push(c), maxPending: 10, maxTrueUps: 10,
  });
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

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
 * Work given up and charged an estimate, then continued (tool outputs submitted to a run), is waited for again with
 * the continuation's prompt added. When that change is rolled back (a full disk), nothing waits for it: only the old
 * estimate stays open, which never counted the continuation. So the continuation is charged as an exchange of its
 * own (continueWork says false), or its prompt is charged nowhere.
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-continued-estimate-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('a continuation of an estimate whose waiting again is rolled back is charged as an exchange of its own', () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const store = new SqliteBackgroundStore(db);
  const counters = new SqliteCounterStore(db);
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  const now = () => NOW;
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish: () => { throw new Error('no alerts expected'); } }), store,
    bundle: () => POLICY, now, onError, onBackgroundCharge: (c) => late.push(c), maxPending: 10, maxTrueUps: 10,
  });
  // One entry per key here (maxPending 10: a tenth each): run_b crowds run_a out, charged its worst case, an estimate open.
  expect(charging.leaveRunning('openai', 'run_a', job())).toBe(true);
  expect(charging.leaveRunning('openai', 'run_b', job())).toBe(true);
  expect(late.map((c) => c.id)).toEqual(['run_a']);

  db.exec(`CREATE TRIGGER fail_waiting_again BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'waiting' AND NEW.id = 'run_a'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  const continued = charging.continueWork({
    provider: 'openai', job: { id: 'run_a', status: 'in_progress', detached: true }, keyId: 'vk-a', promptTokens: 5000,
    usage: undefined, outputTokens: 0, answeredModel: undefined,
  });
  expect(errors).toHaveLength(1);
  expect(continued).toBe(false);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { BackgroundCharging, type BackgroundCharge } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import type { Notice, NoticeDraft } from '../../src/policy/notices.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { WindowCharges } from '../../src/policy/window-charges.js';
import { bundle, NOW } from './support.js';

/**
 * A late charge past a budget threshold raises its alert once the change it belongs to commits. A change rolled back
 * (a full disk) charged nothing, and its alert's mark is rolled back with it: published at once, the alert went out
 * for a charge never made, and again when the charge was retried.
 */

const POLICY = bundle({
  virtual_keys: [{
    id: 'vk-a', name: 'vk-a', value: 'sk-bf-vk-a', provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
    budgets: [{ max_limit: 0.0001, reset_duration: '1d' }],
  }],
});

const job = (): BackgroundJob => ({
  target: {
    keyId: 'vk-a', keyLabel: 'vk-a', pricing: {}, thresholds: [0.5], provider: 'openai', model: 'gpt-4.1',
    request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
    target: { method: 'POST', host: 'api.openai.com', path: '/v1/threads/thread_1/runs' }, app: 'probe',
  },
  windows: allKeyWindows(POLICY, 'vk-a').filter((w) => w.metric !== 'requests'), promptTokens: 100, outputTokens: 0, outputCap: 2000,
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-alert-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function fetchBackWithoutUsage(id: string): Promise<void> {
  const meter = charging!.meterFetchedBack({ provider: 'openai', operation: 'threads' }, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({ id, object: 'thread.run', model: 'gpt-4.1', status: 'completed', usage: null })));
  meter?.end();
  await meter?.finished;
}

it('a budget alert raised by a late charge that is rolled back is not published; the retry publishes it once', async () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const store = new SqliteBackgroundStore(db);
  const counters = new SqliteCounterStore(db);
  const late: BackgroundCharge[] = [];
  const errors: string[] = [];
  const alerts: NoticeDraft[] = [];
  const now = () => NOW;
  const onError = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
  const publish = (draft: NoticeDraft): Notice => {
    alerts.push(draft);
    return { ...draft, id: alerts.length, at: NOW.toISOString() } as unknown as Notice;
  };
  charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish }), store,
    bundle: () => POLICY, now, onError, onBackgroundCharge: (c) => late.push(c), maxPending: 10, maxTrueUps: 10,
  });
  expect(charging.leaveRunning('openai', 'run_x', job())).toBe(true);

  // Its final state reports no usage: charged an estimate (past half the budget), and the estimate's row fails.
  db.exec(`CREATE TRIGGER fail_true_up BEFORE INSERT ON policy_background_work WHEN NEW.kind = 'true_up'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
  await fetchBackWithoutUsage('run_x');
  expect(errors).toHaveLength(1);
  expect(late).toHaveLength(0);
  expect(alerts).toHaveLength(0);

  db.exec('DROP TRIGGER fail_true_up');
  await fetchBackWithoutUsage('run_x');
  expect(late).toHaveLength(1);
  expect(alerts).toHaveLength(1);
  // The charge recorded carries the alert it raised: published after commit, pushed into the charge's alerts before the
  // record is made (window-charges.ts chargeTo: their afterCommit callbacks run in order).
  expect(late[0]!.charge.alerts.map((a) => [a.kind, a.why.errorType])).toEqual([['budget_alert', 'budget_50']]);
});

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
 * Work remembered crowds out its key's oldest entry (a key holds one here), which is given up and charged in the same
 * change. A write of that give-up that fails rolls the whole change back, in memory too (background-change.ts): the
 * old entry is waited for again and the new one is not remembered. Undone in the database only, the old entry was
 * gone from memory uncharged, and the new one waited in memory with no row.
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-rolled-back-crowding-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('a crowding-out whose give-up cannot be written leaves the old entry waited for and the new one not remembered', async () => {
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
  const rows = () => db!.prepare('SELECT kind, id FROM policy_background_work ORDER BY rowid').all();

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
  const meter = charging.meterFetchedBack({ provider: 'openai', operation: 'threads' }, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({ id: 'run_old', object: 'thread.run', model: 'gpt-4.1', status: 'completed', usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } })));
  meter?.end();
  await meter?.finished;
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.charge.estimated ?? false])).toEqual([['run_old', 150, false]]);
  expect(rows()).toEqual([]);
  expect(charged()).toBeGreaterThan(0);
});

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
 * Work taken up at a start that waits for the first bundle can be crowded out by the entries taken up after it (a key
 * holds one here): its give-up waits for the bundle. A final state of it fetched back meanwhile is charged then, its
 * usage rather than its worst case: the crowded-out entry is still found by its id. Not found, the fetch went unseen,
 * and the work was charged its worst case.
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-crowded-out-'));
let db: PolicyDatabase | undefined;
let charging: BackgroundCharging | undefined;
afterEach(() => {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('an entry crowded out at a deferred take-up, fetched back before the first bundle, is charged its usage', async () => {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const store = new SqliteBackgroundStore(db);
  const journal = store.journal<BackgroundJob>('waiting', (err) => { throw err; });
  journal.added('openai', 'run_old', 'vk-a', job(), NOW.getTime());
  journal.added('openai', 'run_new', 'vk-a', job(), NOW.getTime());
  const counters = new SqliteCounterStore(db);
  const late: BackgroundCharge[] = [];
  let policy: typeof POLICY | undefined = undefined; // no bundle until the take-up has met the fetch
  const now = () => NOW;
  const onError = (err: unknown) => { throw err; };
  charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish: () => { throw new Error('no alerts expected'); } }), store,
    bundle: () => policy, now, onError, onBackgroundCharge: (c) => late.push(c), maxPending: 10, maxTrueUps: 10,
  });
  charging.takeUp({ deferCharges: true });

  const meter = charging.meterFetchedBack({ provider: 'openai', operation: 'threads' }, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({ id: 'run_old', object: 'thread.run', model: 'gpt-4.1', status: 'completed', usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } })));
  meter?.end();
  await meter?.finished;
  policy = POLICY;
  charging.chargeDeferred();

  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.charge.estimated ?? false])).toEqual([['run_old', 150, false]]);
  expect(db.prepare('SELECT kind, id FROM policy_background_work ORDER BY rowid').all()).toEqual([{ kind: 'waiting', id: 'run_new' }]);
});

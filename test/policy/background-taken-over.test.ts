import { afterEach, expect, it } from 'vitest';
import { BackgroundCharging, type BackgroundCharge } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { WindowCharges } from '../../src/policy/window-charges.js';
import { temporaryCounterStores } from './temporary-counter-store.js';
import { bundle, NOW } from './support.js';

/**
 * A run given up under key A (charged its worst case, an estimate open for a true-up) and continued under key B, which
 * Edge then waits for under B: B took the run over and pays its usage, so A's estimate is given back whole once the
 * usage is known. That holds even when B's own estimate is gone by then (crowded out by B's newer ones): deciding it
 * by whether B's estimate was still there to true up, Edge charged A the whole usage too, and the run counted twice.
 * Bounds of one entry a key make the crowding take a few requests rather than thousands.
 */

const stores = temporaryCounterStores('edge-background-taken-over-');
let charging: BackgroundCharging | undefined;
afterEach(() => charging?.releaseAll());

const POLICY = bundle({
  virtual_keys: ['vk-a', 'vk-b'].map((id) => ({
    id, name: id, value: `sk-bf-${id}`, provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
  })),
});

const job = (keyId: string): BackgroundJob => ({
  target: {
    keyId, keyLabel: keyId, pricing: {}, thresholds: [], provider: 'openai', model: 'gpt-4.1',
    request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
    target: { method: 'POST', host: 'api.openai.com', path: '/v1/threads/thread_1/runs' }, app: 'probe',
  },
  windows: allKeyWindows(POLICY, keyId).filter((w) => w.metric !== 'requests'), promptTokens: 100, outputTokens: 0, outputCap: 2000,
});

async function fetchBackCompleted(id: string, usage: object): Promise<void> {
  const meter = charging!.meterFetchedBack({ provider: 'openai', operation: 'threads' }, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({ id, object: 'thread.run', model: 'gpt-4.1', status: 'completed', usage })));
  meter?.end();
  await meter?.finished;
}

it('the old key is given its estimate back when the new key took the run over, though the new key\'s estimate was crowded out', async () => {
  const counters = stores.open();
  const late: BackgroundCharge[] = [];
  const now = () => NOW;
  const onError = (err: unknown) => { throw err; };
  charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish: () => { throw new Error('no alerts here'); } }),
    bundle: () => POLICY, now, onError, onBackgroundCharge: (c) => late.push(c), maxPending: 10, maxTrueUps: 10,
  });
  charging.leaveRunning('openai', 'run_9', job('vk-a'));
  // vk-a's next background request crowds the run out: given up, vk-a is charged its worst case.
  charging.leaveRunning('openai', 'resp_a', job('vk-a'));
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens])).toEqual([['run_9', 2100]]);

  // Continued under vk-b, still running: handed over, then waited for under vk-b (as the enforcer does).
  expect(charging.continueWork({ provider: 'openai', job: { id: 'run_9', status: 'queued', detached: true }, keyId: 'vk-b', promptTokens: 10, usage: undefined, outputTokens: 0, answeredModel: undefined })).toBe(false);
  expect(charging.leaveRunning('openai', 'run_9', job('vk-b'))).toBe(true);
  // vk-b's next requests crowd the run out (an estimate of vk-b's), then that estimate out.
  charging.leaveRunning('openai', 'resp_b1', job('vk-b'));
  charging.leaveRunning('openai', 'resp_b2', job('vk-b'));
  expect(late.map((c) => [c.id, c.target.path, c.charge.usage.totalTokens])).toEqual([
    ['run_9', '/v1/threads/thread_1/runs', 2100], ['run_9', '/v1/threads/thread_1/runs', 2100], ['resp_b1', '/v1/threads/thread_1/runs', 2100],
  ]);

  late.length = 0;
  await fetchBackCompleted('run_9', { prompt_tokens: 5000, completion_tokens: 3000, total_tokens: 8000 });
  // vk-b paid the run (its worst case, kept); vk-a gets all of its estimate back instead of paying the run again.
  expect(late.map((c) => [c.id, c.charge.usage.totalTokens, c.trueUp?.cause, c.trueUp?.difference.totalTokens])).toEqual([
    ['run_9', 0, 'continued_under_another_key', -2100],
  ]);
});

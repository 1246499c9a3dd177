import { describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { limitWindows } from '../../src/policy/limits.js';
import { bundle, NOW, request, vk } from './support.js';
import { temporaryCounterStores } from './temporary-counter-store.js';
import { openaiInfo, signedInEnforcer, spend } from './budget-spending.js';

/**
 * Every budget has its own counter, also when two budgets of a key share a reset duration (a $5 a day
 * soft cap and a $10 a day hard cap): each spend is charged once to each, each request in flight holds
 * its estimate once in each. Counters persisted under the shared key of earlier versions keep counting.
 */

const T = NOW.getTime();
/** The key every budget of one duration shared in earlier versions. */
const SHARED_DAILY = 'vk:vk-eng|spend|1d';

const stores = temporaryCounterStores('edge-budget-counters-');
const openCounters = () => stores.open();

function makeEnforcer(b: PolicyBundle, counters = openCounters()) {
  return signedInEnforcer(b, counters);
}

const softAndHard = [
  ['with ids', [{ id: 'soft', max_limit: 5, reset_duration: '1d' }, { id: 'hard', max_limit: 10, reset_duration: '1d' }]],
  ['without ids', [{ max_limit: 5, reset_duration: '1d' }, { max_limit: 10, reset_duration: '1d' }]],
] as const;

describe('two budgets with the same reset duration', () => {
  it.each(softAndHard)('%s: a spend is charged once to each', (_name, budgets) => {
    const { enforcer } = makeEnforcer(bundle({}, { budgets: [...budgets] }));
    spend(enforcer, 1_000_000); // $2.50
    expect(enforcer.status().budgets.map((b) => [b.maxUsd, b.usedUsd])).toEqual([[5, 2.5], [10, 2.5]]);
    expect(enforcer.decide(request(), openaiInfo).action).toBe('allow');
    spend(enforcer, 1_000_000);
    expect(enforcer.decide(request(), openaiInfo)).toMatchObject({ action: 'block', error: { type: 'budget_exceeded', message: expect.stringContaining('$5.00 budget per day ($5.00 spent') } });
  });

  it.each(softAndHard)('%s: a request in flight holds its estimate once in each', (_name, budgets) => {
    const { enforcer } = makeEnforcer(bundle({}, { budgets: [...budgets] }));
    // 4 million characters read as a 1 million token prompt: $2.50 held until the answer is charged.
    const prompt = () => request({ texts: [{ path: ['messages', 0, 'content'], text: 'x'.repeat(4_000_000), kind: 'user' }] });
    expect(enforcer.decide(prompt(), openaiInfo).action).toBe('allow');
    expect(enforcer.decide(prompt(), openaiInfo).action).toBe('allow');
    expect(enforcer.decide(prompt(), openaiInfo)).toMatchObject({ action: 'block', error: { type: 'budget_exceeded' } });
  });

  it('the gateway\'s report of each is kept apart', () => {
    const { enforcer } = makeEnforcer(bundle({}, {
      budgets: [
        { id: 'soft', max_limit: 5, reset_duration: '1d', current_usage: 1, last_reset: '2025-06-01T00:00:00Z' },
        { id: 'hard', max_limit: 10, reset_duration: '1d', current_usage: 7, last_reset: '2025-05-31T18:00:00Z' },
      ],
    }));
    expect(enforcer.status().budgets.map((b) => [b.maxUsd, b.usedUsd, b.resetsAt])).toEqual([
      [5, 1, '2025-06-02T00:00:00.000Z'],
      [10, 7, '2025-06-01T18:00:00.000Z'],
    ]);
  });

  it('each budget gets its own counter key: by id; without one, by its place among its duration\'s budgets without one', () => {
    const key = vk({
      budgets: [
        { id: 'b1', max_limit: 1, reset_duration: '1d' }, { max_limit: 2, reset_duration: '1d' },
        { max_limit: 3, reset_duration: '1w' }, { max_limit: 4, reset_duration: '1w' },
      ],
    });
    expect(limitWindows(key, undefined, T).windows.map((w) => w.counterKey)).toEqual([
      'vk:vk-eng|spend|1d|budget:b1',
      'vk:vk-eng|spend|1d|budget@1',
      'vk:vk-eng|spend|1w|budget@1',
      'vk:vk-eng|spend|1w|budget@2',
    ]);
  });
});

describe('counters persisted under the shared key by earlier versions', () => {
  it('still count for a budget now counted by its id: they become its own row', () => {
    const counters = openCounters();
    counters.add(SHARED_DAILY, 4, 86_400_000, T - 3_600_000);
    counters.markAlert(SHARED_DAILY, T - 3_600_000, 0.8, T - 3_600_000);

    const { enforcer, notices } = makeEnforcer(bundle({ budget_alert_thresholds: [0.8] }, { budgets: [{ id: 'b1', max_limit: 5, reset_duration: '1d' }] }), counters);
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 4, resetsAt: '2025-06-02T11:00:00.000Z' })]);
    spend(enforcer, 200_000); // $0.50, in the same window
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 4.5, resetsAt: '2025-06-02T11:00:00.000Z' })]);
    // The 80 % alert fired for this window before the upgrade: not again.
    expect(notices.filter((n) => n.kind === 'budget_alert')).toEqual([]);
    spend(enforcer, 200_000);
    expect(enforcer.decide(request(), openaiInfo)).toMatchObject({ action: 'block', error: { type: 'budget_exceeded' } });
    // The shared row was divided once, when the bundle was applied, and is gone: no later sync divides it again.
    expect(counters.snapshot([SHARED_DAILY]).get(SHARED_DAILY)).toBeUndefined();
  });
});

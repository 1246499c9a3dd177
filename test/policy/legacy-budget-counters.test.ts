import { describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { limitWindows } from '../../src/policy/limits.js';
import type { Notice } from '../../src/policy/notices.js';
import { bundle, NOW, vk } from './support.js';
import { temporaryCounterStores } from './temporary-counter-store.js';
import { signedInEnforcer, spend } from './budget-spending.js';

/**
 * Counters left by versions before budgets had their own counters: those charged every spend once per
 * budget under the one key of the budgets' duration, so that row holds the real spend times the number
 * of budgets that shared it. After the upgrade each budget starts from its share (the real spend), also
 * a budget counted by its place (no id), and the shared row's alerts still count.
 */

const T = NOW.getTime();
const DAY = 86_400_000;
const WINDOW_START = T - 3_600_000;
/** The keys every budget of one duration shared in those versions: the key's own, and the openai config's. */
const SHARED_DAILY = 'vk:vk-eng|spend|1d';
const PROVIDER_SHARED_DAILY = 'vk:vk-eng/provider:openai|spend|1d';

const stores = temporaryCounterStores('edge-legacy-budgets-');
const openCounters = () => stores.open();

/**
 * What an earlier version left after `realUsd` of spend in a window that opened an hour ago: the spend
 * added to the shared key once for each of `budgets` budgets, and the alerts it marked there.
 */
function writeLegacyRow(key: string, realUsd: number, budgets: number, alerts: number[] = []): void {
  const counters = openCounters();
  for (let i = 0; i < budgets; i++) counters.add(key, realUsd, DAY, WINDOW_START);
  for (const threshold of alerts) counters.markAlert(key, WINDOW_START, threshold, WINDOW_START);
  stores.closeLast();
}

function upgradedEnforcer(b: PolicyBundle): { enforcer: PolicyEnforcer; counters: SqliteCounterStore; notices: Notice[] } {
  const counters = openCounters();
  return { ...signedInEnforcer(b, counters), counters };
}

const used = (enforcer: PolicyEnforcer) => enforcer.status().budgets.map((b) => [b.maxUsd, b.usedUsd]);

describe('a shared row of earlier versions, read by budgets counted by id', () => {
  it('each budget starts from the real spend, not the shared row\'s multiple of it', () => {
    writeLegacyRow(SHARED_DAILY, 3, 2); // $3 spent: the shared row says $6
    const { enforcer, counters } = upgradedEnforcer(bundle({}, {
      budgets: [{ id: 'soft', max_limit: 5, reset_duration: '1d' }, { id: 'hard', max_limit: 10, reset_duration: '1d' }],
    }));
    expect(used(enforcer)).toEqual([[5, 3], [10, 3]]);
    spend(enforcer, 400_000); // $1, allowed: $3 of $5 spent
    expect(used(enforcer)).toEqual([[5, 4], [10, 4]]);
    // The shared row was divided once, when the bundle was applied, and is gone: no later sync divides it again.
    expect(counters.snapshot([SHARED_DAILY]).get(SHARED_DAILY)).toBeUndefined();
  });

  it('a row shared by three budgets is divided by three', () => {
    writeLegacyRow(SHARED_DAILY, 1.5, 3);
    const { enforcer } = upgradedEnforcer(bundle({}, {
      budgets: [
        { id: 'a', max_limit: 5, reset_duration: '1d' },
        { id: 'b', max_limit: 10, reset_duration: '1d' },
        { id: 'c', max_limit: 20, reset_duration: '1d' },
        { id: 'weekly', max_limit: 50, reset_duration: '1w' },
      ],
    }));
    expect(used(enforcer)).toEqual([[5, 1.5], [10, 1.5], [20, 1.5], [50, 0]]);
  });

  it('the key\'s own budgets and a provider config\'s budgets had different shared rows', () => {
    writeLegacyRow(SHARED_DAILY, 2, 1);
    writeLegacyRow(PROVIDER_SHARED_DAILY, 2, 2);
    const { enforcer } = upgradedEnforcer(bundle({}, {
      budgets: [{ id: 'key-daily', max_limit: 8, reset_duration: '1d' }],
      provider_configs: [{
        provider: 'openai', weight: 1, allowed_models: ['*'],
        budgets: [{ id: 'soft', max_limit: 5, reset_duration: '1d' }, { id: 'hard', max_limit: 10, reset_duration: '1d' }],
      }],
    }));
    expect(used(enforcer).sort((x, y) => x[0]! - y[0]!)).toEqual([[5, 2], [8, 2], [10, 2]]);
  });

  it('a gateway report of the same window gives the reported figure, not the shared row\'s multiple', () => {
    writeLegacyRow(SHARED_DAILY, 2, 2);
    const lastReset = new Date(WINDOW_START).toISOString();
    const { enforcer } = upgradedEnforcer(bundle({}, {
      budgets: [
        { id: 'soft', max_limit: 5, reset_duration: '1d', current_usage: 2.5, last_reset: lastReset },
        { id: 'hard', max_limit: 10, reset_duration: '1d', current_usage: 1, last_reset: lastReset },
      ],
    }));
    expect(used(enforcer)).toEqual([[5, 2.5], [10, 2]]);
  });
});

describe('a shared row of earlier versions, read by a budget without an id counted by its place', () => {
  it('the budget keeps counting from its share instead of starting again at $0', () => {
    writeLegacyRow(SHARED_DAILY, 1, 2);
    const { enforcer } = upgradedEnforcer(bundle({}, {
      budgets: [{ id: 'soft', max_limit: 5, reset_duration: '1d' }, { max_limit: 10, reset_duration: '1d' }],
    }));
    expect(used(enforcer)).toEqual([[5, 1], [10, 1]]);
    spend(enforcer, 400_000); // $1
    expect(used(enforcer)).toEqual([[5, 2], [10, 2]]);
  });

  it('an alert the shared row had fired in this window does not fire again', () => {
    writeLegacyRow(SHARED_DAILY, 4, 2, [0.8]); // $4 of $5: the 80 % alert fired
    const { enforcer, notices } = upgradedEnforcer(bundle({ budget_alert_thresholds: [0.8] }, {
      budgets: [{ id: 'soft', max_limit: 5, reset_duration: '1d' }, { max_limit: 5, reset_duration: '1d' }],
    }));
    spend(enforcer, 40_000); // $0.10
    expect(used(enforcer)).toEqual([[5, 4.1], [5, 4.1]]);
    expect(notices.filter((n) => n.kind === 'budget_alert')).toEqual([]);
  });

  it('next to a budget the next version counted under the shared key as its own, nothing is read from it for the other', () => {
    // That version counted the first budget without an id under the shared key (once per spend from then
    // on) and the second by its place in the list (|budget#2).
    writeLegacyRow(SHARED_DAILY, 4, 1, [0.8]);
    const counters = openCounters();
    const windows = limitWindows(vk({ budgets: [{ max_limit: 5, reset_duration: '1d' }, { max_limit: 10, reset_duration: '1d' }] }), undefined, T).windows;
    counters.followWindows(windows, T);
    const [first, second] = windows.map((w) => w.counterKey);
    expect(counters.snapshot([first!, second!])).toEqual(new Map([[first, { value: 4, windowStartMs: WINDOW_START }]]));
    expect(counters.markAlert(first!, WINDOW_START, 0.8, T)).toBe(false);
    expect(counters.markAlert(second!, WINDOW_START, 0.8, T)).toBe(true);
  });
});

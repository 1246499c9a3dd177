import { describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import type { SqliteCounterStore } from '../../src/policy/counter-store.js';
import type { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openaiInfo, signedInEnforcer, spend } from './budget-spending.js';
import { bundle, NOW, request } from './support.js';
import { temporaryCounterStores } from './temporary-counter-store.js';

/**
 * Every budget and rate limit window has a counter of its own, also when nothing tells it apart but its
 * owner: two provider configs of one provider (Bifrost allows several) with budgets without ids of one
 * duration, or each with a rate limit. A window keeps its counter when the policy is synced again, also
 * when budgets or configs are added next to it. Counters an earlier version left on the device (one
 * counter for all configs of a provider, charged once per config) are carried over, not lost or doubled.
 */

const T = NOW.getTime();
const DAY = 86_400_000;
const MINUTE = 60_000;
const WINDOW_START = T - 10 * MINUTE;

const stores = temporaryCounterStores('edge-counter-identity-');

type ConfigInput = Record<string, unknown>;
const openaiConfig = (extra: ConfigInput = {}): ConfigInput => ({ provider: 'openai', weight: 1, allowed_models: ['*'], ...extra });
const twoOpenaiConfigs = (first: ConfigInput, second: ConfigInput, ids: boolean) => [
  openaiConfig({ ...(ids ? { id: 11 } : {}), ...first }),
  openaiConfig({ ...(ids ? { id: 12 } : {}), ...second }),
];
const keyWith = (configs: ConfigInput[], extra: Record<string, unknown> = {}, version = 7): PolicyBundle =>
  bundle({ version }, { provider_configs: configs as never, ...extra });

/** [owner, max, used] of every budget the status shows. */
const budgets = (enforcer: PolicyEnforcer) =>
  enforcer.status().budgets.map((b) => [b.provider ?? 'key', b.maxUsd, b.usedUsd]).sort((x, y) => String(x).localeCompare(String(y)));

const dailyBudget = (max: number, id?: string) => ({ ...(id !== undefined ? { id } : {}), max_limit: max, reset_duration: '1d' });
const threePerMinute = { request_max_limit: 3, request_reset_duration: '1m' };

/** Sends requests until one is refused; how many went through (at most `limit`). */
function requestsAllowed(enforcer: PolicyEnforcer, limit = 10): number {
  for (let n = 0; n < limit; n++) {
    const req = request();
    if (enforcer.decide(req, openaiInfo).action !== 'allow') return n;
    enforcer.settle(req);
  }
  return limit;
}

describe.each([['with config ids (as Bifrost sends them)', true], ['without config ids', false]])('two provider configs of one provider, %s', (_name, ids) => {
  it('budgets without ids of one duration: a spend is charged once to each', () => {
    const { enforcer } = signedInEnforcer(keyWith(twoOpenaiConfigs({ budgets: [dailyBudget(5)] }, { budgets: [dailyBudget(8)] }, ids)), stores.open());
    spend(enforcer, 1_000_000); // $2.50
    expect(budgets(enforcer)).toEqual([['openai', 5, 2.5], ['openai', 8, 2.5]]);
    expect(enforcer.decide(request(), openaiInfo).action).toBe('allow');
  });

  it('a rate limit on each: a request is counted once in each', () => {
    const { enforcer } = signedInEnforcer(keyWith(twoOpenaiConfigs({ rate_limit: threePerMinute }, { rate_limit: threePerMinute }, ids)), stores.open());
    expect(requestsAllowed(enforcer)).toBe(3);
  });
});

it('the key\'s budget and a provider config\'s budget without ids of one duration are counted apart', () => {
  const { enforcer } = signedInEnforcer(keyWith([openaiConfig({ budgets: [dailyBudget(5)] })], { budgets: [dailyBudget(10)] }), stores.open());
  spend(enforcer, 400_000); // $1
  expect(budgets(enforcer)).toEqual([['key', 10, 1], ['openai', 5, 1]]);
});

describe('a window keeps its counter when the policy is synced again', () => {
  it('the same policy, a later version', () => {
    const b = (version: number) => keyWith(twoOpenaiConfigs({ budgets: [dailyBudget(5)] }, { budgets: [dailyBudget(8)] }, false), { budgets: [dailyBudget(10)] }, version);
    const { enforcer } = signedInEnforcer(b(7), stores.open());
    spend(enforcer, 400_000);
    enforcer.setBundle(b(8));
    expect(budgets(enforcer)).toEqual([['key', 10, 1], ['openai', 5, 1], ['openai', 8, 1]]);
  });

  it('a budget with an id of the same duration added before a budget without one', () => {
    const { enforcer } = signedInEnforcer(keyWith([openaiConfig()], { budgets: [dailyBudget(5)] }), stores.open());
    spend(enforcer, 400_000);
    enforcer.setBundle(keyWith([openaiConfig()], { budgets: [dailyBudget(20, 'team-cap'), dailyBudget(5)] }, 8));
    expect(budgets(enforcer)).toEqual([['key', 20, 0], ['key', 5, 1]]);
  });

  it.each([['with config ids', true], ['without config ids', false]])('a second config of the same provider added, %s', (_name, ids) => {
    const [first, second] = twoOpenaiConfigs({ budgets: [dailyBudget(5)], rate_limit: threePerMinute }, { budgets: [dailyBudget(8)], rate_limit: threePerMinute }, ids);
    const { enforcer } = signedInEnforcer(keyWith([first!]), stores.open());
    spend(enforcer, 400_000);
    enforcer.setBundle(keyWith([first!, second!], {}, 8));
    expect(budgets(enforcer)).toEqual([['openai', 5, 1], ['openai', 8, 0]]);
    // One request counted in the first config's window: two more fit there, three in the second's.
    expect(requestsAllowed(enforcer)).toBe(2);
  });
});

describe('counters the previous version left (one counter per provider, charged once per config)', () => {
  /** Writes `value` under `key` in a window that opened ten minutes ago, as the previous version did, and closes the database. */
  function writePreviousRow(key: string, value: number, durationMs: number): void {
    const counters: SqliteCounterStore = stores.open();
    counters.add(key, value, durationMs, WINDOW_START);
    stores.closeLast();
  }

  it('one config: its counters carry on', () => {
    writePreviousRow('vk:vk-eng/provider:openai|spend|1d', 2, DAY);
    writePreviousRow('vk:vk-eng/provider:openai|requests|1h', 2, 3_600_000);
    const { enforcer } = signedInEnforcer(keyWith([openaiConfig({ id: 11, budgets: [dailyBudget(5)], rate_limit: { request_max_limit: 3, request_reset_duration: '1h' } })]), stores.open());
    expect(budgets(enforcer)).toEqual([['openai', 5, 2]]);
    spend(enforcer, 400_000); // the third request of three this hour
    expect(budgets(enforcer)).toEqual([['openai', 5, 3]]);
    expect(requestsAllowed(enforcer)).toBe(0);
  });

  it.each([['with config ids', true], ['without config ids', false]])('two configs, %s: each reads the real usage, not the doubled counter', (_name, ids) => {
    writePreviousRow('vk:vk-eng/provider:openai|spend|1d', 4, DAY); // $2 spent, charged to the shared counter twice
    writePreviousRow('vk:vk-eng/provider:openai|requests|1h', 4, 3_600_000); // 2 requests, counted twice
    const hourly = { request_max_limit: 3, request_reset_duration: '1h' };
    const { enforcer } = signedInEnforcer(keyWith(twoOpenaiConfigs({ budgets: [dailyBudget(5)], rate_limit: hourly }, { budgets: [dailyBudget(8)], rate_limit: hourly }, ids)), stores.open());
    expect(budgets(enforcer)).toEqual([['openai', 5, 2], ['openai', 8, 2]]);
    expect(requestsAllowed(enforcer)).toBe(1);
  });
});

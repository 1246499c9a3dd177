import { describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import type { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openaiInfo, signedInEnforcer, tokens } from './budget-spending.js';
import { bundle, NOW, request } from './support.js';
import { temporaryCounterStores } from './temporary-counter-store.js';

/**
 * A policy sync never silently resets or inflates a budget or rate limit that is still in the policy:
 * a window whose counter key changes with the sync (a provider config without an id counted by its
 * place, which moves when a config before it is removed) keeps what it counted.
 */

const stores = temporaryCounterStores('edge-counter-carry-over-');

type ConfigInput = Record<string, unknown>;
const openaiConfig = (extra: ConfigInput): ConfigInput => ({ provider: 'openai', weight: 1, allowed_models: ['*'], ...extra });
const keyWith = (configs: ConfigInput[], version: number): PolicyBundle => bundle({ version }, { provider_configs: configs as never });

/** [max, used] of every budget the status shows, in the bundle's order. */
const budgets = (enforcer: PolicyEnforcer) => enforcer.status().budgets.map((b) => [b.maxUsd, b.usedUsd]);

/** Spends $1 (400,000 tokens of gpt-4o) per request until one is refused; how many went through. */
function dollarRequestsAllowed(enforcer: PolicyEnforcer, limit = 20): number {
  for (let n = 0; n < limit; n++) {
    const req = request();
    if (enforcer.decide(req, openaiInfo).action !== 'allow') return n;
    enforcer.recordResponseUsage(req, tokens(400_000));
    enforcer.settle(req);
  }
  return limit;
}

describe('a provider config without an id whose place among its provider\'s configs moves', () => {
  const weekly = openaiConfig({ budgets: [{ max_limit: 100, reset_duration: '1w' }] });
  const daily = openaiConfig({ budgets: [{ max_limit: 5, reset_duration: '1d' }] });

  it('the config before it removed: its budget keeps what was spent', () => {
    const { enforcer } = signedInEnforcer(keyWith([weekly, daily], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 4)).toBe(4); // $4 of the $5 daily budget
    enforcer.setBundle(keyWith([daily], 8));
    expect(budgets(enforcer)).toEqual([[5, 4]]);
    expect(dollarRequestsAllowed(enforcer)).toBe(1);
  });

  it('a config inserted before it: its budget keeps what was spent, the new one starts at $0', () => {
    const { enforcer } = signedInEnforcer(keyWith([daily], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 4)).toBe(4);
    enforcer.setBundle(keyWith([weekly, daily], 8));
    expect(budgets(enforcer)).toEqual([[100, 0], [5, 4]]);
  });

  it('the agent restarted in between: the counters follow the config all the same', () => {
    const { enforcer } = signedInEnforcer(keyWith([weekly, daily], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 4)).toBe(4);
    stores.closeLast();
    const restarted = signedInEnforcer(keyWith([daily], 8), stores.open()).enforcer;
    expect(budgets(restarted)).toEqual([[5, 4]]);
  });

  it('two configs of different budgets trade places: each keeps its own spend', () => {
    const small = openaiConfig({ budgets: [{ max_limit: 5, reset_duration: '1d' }] });
    const large = openaiConfig({ budgets: [{ max_limit: 50, reset_duration: '1d' }] });
    const { enforcer } = signedInEnforcer(keyWith([small, large], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 4)).toBe(4); // $4 in each
    enforcer.setBundle(keyWith([large, weekly, small], 8));
    expect(budgets(enforcer)).toEqual([[50, 4], [100, 0], [5, 4]]);
  });
});

describe('a provider config that gains an id (the policy file edited, or the gateway starting to send ids)', () => {
  const withLimits = (extra: ConfigInput = {}) => openaiConfig({
    budgets: [{ max_limit: 5, reset_duration: '1d' }], rate_limit: { request_max_limit: 3, request_reset_duration: '1h' }, ...extra,
  });
  const rateLimits = (enforcer: PolicyEnforcer) => enforcer.status().rateLimits.map((r) => [r.max, r.used]);

  it('its budget and rate limit carry on mid-window instead of starting again at 0', () => {
    const { enforcer } = signedInEnforcer(keyWith([withLimits()], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 2)).toBe(2); // $2 of $5, 2 requests of 3 this hour
    enforcer.setBundle(keyWith([withLimits({ id: 11 })], 8));
    expect(budgets(enforcer)).toEqual([[5, 2]]);
    expect(rateLimits(enforcer)).toEqual([[3, 2]]);
    expect(dollarRequestsAllowed(enforcer)).toBe(1); // the third request of the hour
  });

  it('two configs gain ids at once: each keeps its own counters', () => {
    const small = (extra: ConfigInput = {}) => openaiConfig({ budgets: [{ max_limit: 5, reset_duration: '1d' }], ...extra });
    const large = (extra: ConfigInput = {}) => openaiConfig({ budgets: [{ max_limit: 50, reset_duration: '1d' }], ...extra });
    const { enforcer } = signedInEnforcer(keyWith([small(), large()], 7), stores.open());
    expect(dollarRequestsAllowed(enforcer, 2)).toBe(2);
    enforcer.setBundle(keyWith([small({ id: 11 }), large({ id: 12 })], 8));
    expect(budgets(enforcer)).toEqual([[5, 2], [50, 2]]);
  });
});

describe('a counter the version before c412a9b left (one per provider, charged once per config), and a sync after the upgrade', () => {
  const HOUR = 3_600_000;
  const tenPerHour = (id: number) => openaiConfig({ id, rate_limit: { request_max_limit: 10, request_reset_duration: '1h' } });
  /** [max, used] of every rate limit the status shows. */
  const rateLimits = (enforcer: PolicyEnforcer) => enforcer.status().rateLimits.map((r) => [r.max, r.used]);
  function requestsAllowed(enforcer: PolicyEnforcer, limit = 30): number {
    for (let n = 0; n < limit; n++) {
      const req = request();
      if (enforcer.decide(req, openaiInfo).action !== 'allow') return n;
      enforcer.settle(req);
    }
    return limit;
  }
  /** What that version left: `value` on the provider's one request counter, in a window opened ten minutes ago. */
  function upgradedWith(value: number, configs: ConfigInput[]): PolicyEnforcer {
    const left = stores.open();
    left.add('vk:vk-eng/provider:openai|requests|1h', value, HOUR, NOW.getTime() - 10 * 60_000);
    stores.closeLast();
    return signedInEnforcer(keyWith(configs, 7), stores.open()).enforcer;
  }

  it('one config with 8 requests sent, then a second config added: the first still reads 8, the new one 0', () => {
    const enforcer = upgradedWith(8, [tenPerHour(11)]);
    expect(rateLimits(enforcer)).toEqual([[10, 8]]);
    enforcer.setBundle(keyWith([tenPerHour(11), tenPerHour(12)], 8));
    expect(rateLimits(enforcer)).toEqual([[10, 8], [10, 0]]);
    expect(requestsAllowed(enforcer)).toBe(2);
  });

  it('two configs with 4 requests sent (the row says 8), then one removed: the other still reads 4', () => {
    const enforcer = upgradedWith(8, [tenPerHour(11), tenPerHour(12)]);
    expect(rateLimits(enforcer)).toEqual([[10, 4], [10, 4]]);
    enforcer.setBundle(keyWith([tenPerHour(12)], 8));
    expect(rateLimits(enforcer)).toEqual([[10, 4]]);
    expect(requestsAllowed(enforcer)).toBe(6);
  });

  it('a restart after the upgrade does not divide the row again', () => {
    upgradedWith(8, [tenPerHour(11), tenPerHour(12)]);
    stores.closeLast();
    const restarted = signedInEnforcer(keyWith([tenPerHour(11), tenPerHour(12), tenPerHour(13)], 8), stores.open()).enforcer;
    expect(rateLimits(restarted)).toEqual([[10, 4], [10, 4], [10, 0]]);
  });
});

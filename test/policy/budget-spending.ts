import { expect } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import type { CounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import type { Notice } from '../../src/policy/notices.js';
import type { TokenUsage } from '../../src/policy/usage.js';
import { info, NOW, request } from './support.js';

/** An enforcer for a signed-in user on `counters` at NOW, with bundle `b` applied; the notices it sends. */
export function signedInEnforcer(b: PolicyBundle, counters: CounterStore): { enforcer: PolicyEnforcer; notices: Notice[] } {
  const enforcer = new PolicyEnforcer({ counters, now: () => new Date(NOW.getTime()), onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(b);
  const notices: Notice[] = [];
  enforcer.notices.on('notice', (n) => notices.push(n));
  return { enforcer, notices };
}

export const openaiInfo = info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' });

export const tokens = (total: number): TokenUsage => ({ inputTokens: total, outputTokens: 0, totalTokens: total, cachedInputTokens: 0, reasoningTokens: 0 });

/** One answered request: allowed, charged `total` tokens of gpt-4o ($2.50 per million), settled. */
export function spend(enforcer: PolicyEnforcer, total: number): void {
  const req = request();
  expect(enforcer.decide(req, openaiInfo).action).toBe('allow');
  enforcer.recordResponseUsage(req, tokens(total));
  enforcer.settle(req);
}

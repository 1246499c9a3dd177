import { afterEach, beforeEach, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { BackgroundAgent, PAST_THE_WAIT_MS, POLICY, timersDueNow } from './background-agent.js';

/**
 * With a policy source configured (Edge Control) and no saved bundle, Edge starts with no policy: decisions fail open,
 * and a client may fetch back work an earlier run left waiting before the first bundle comes. That work is taken up
 * at the start, so the fetch is recognised; only its charge waits for the bundle (its windows are the bundle's).
 * Taken up only with the bundle, as before, the fetch went unseen: its usage lost, the work later charged its worst case.
 */

let agent: BackgroundAgent;
beforeEach(() => {
  agent = new BackgroundAgent();
  agent.start();
});
afterEach(() => agent.stop());

it('a final state fetched back before the first bundle is charged its usage once the bundle is applied, never its worst case', async () => {
  await agent.startBackground('resp_early');
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  await agent.fetchBack('resp_early', { input_tokens: 100, output_tokens: 50 });
  // Nothing charged without windows; the row stays until it is.
  expect(agent.late).toEqual([]);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_early' }]);
  agent.enforcer.setBundle(POLICY);
  expect(agent.charged()).toEqual([['resp_early', 150, false]]);
  expect(agent.tokensUsed()).toBe(150);
  expect(agent.rows()).toEqual([]);
  // Later starts find nothing left to give up.
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart();
  await timersDueNow();
  expect(agent.late).toEqual([]);
  expect(agent.tokensUsed()).toBe(150);
});

it('work whose wait ran out before the first bundle, fetched back meanwhile, is charged the usage fetched rather than its worst case', async () => {
  await agent.startBackground('resp_due');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  await timersDueNow();
  expect(agent.late).toEqual([]);
  await agent.fetchBack('resp_due', { input_tokens: 100, output_tokens: 50 });
  agent.enforcer.setBundle(POLICY);
  expect(agent.charged()).toEqual([['resp_due', 150, false]]);
});

it('work whose wait ran out before the first bundle, not fetched back, is given up once the bundle is applied', async () => {
  await agent.startBackground('resp_due');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  await timersDueNow();
  expect(agent.late).toEqual([]);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_due' }]);
  agent.enforcer.setBundle(POLICY);
  expect(await until(() => agent.late.length > 0)).toBe(true);
  // The prompt (100 tokens as estimated) and the 700 tokens of answer it allowed itself.
  expect(agent.charged()).toEqual([['resp_due', 800, true]]);
  expect(agent.rows()).toEqual([{ kind: 'true_up', id: 'resp_due' }]);
});

it('a final state fetched back before the first bundle outlives a crash before it: the next start charges its usage', async () => {
  await agent.startBackground('resp_early');
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  await agent.fetchBack('resp_early', { input_tokens: 100, output_tokens: 50 });
  agent.clockMs += PAST_THE_WAIT_MS;
  // Its wait has run out by then: kept in memory only, the usage fetched was lost and the worst case (800) charged.
  agent.crashAndRestart();
  await timersDueNow();
  expect(agent.charged()).toEqual([['resp_early', 150, false]]);
  expect(agent.tokensUsed()).toBe(150);
  expect(agent.rows()).toEqual([]);
});

it('a final state fetched back before the first bundle outlives a clean stop, and a start that waits for the bundle again', async () => {
  await agent.startBackground('resp_early');
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  await agent.fetchBack('resp_early', { input_tokens: 100, output_tokens: 50 });
  agent.enforcer.releaseBackground();
  agent.crashAndRestart({ policy: null, bundleExpected: true });
  expect(agent.late).toEqual([]);
  agent.enforcer.setBundle(POLICY);
  expect(agent.charged()).toEqual([['resp_early', 150, false]]);
  expect(agent.rows()).toEqual([]);
});

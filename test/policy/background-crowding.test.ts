import { afterEach, expect, it } from 'vitest';
import { BackgroundResponses, type BackgroundJob } from '../../src/policy/background-responses.js';
import { BackgroundTrueUps, DEFAULT_TRUE_UP_MAX_AGE_MS, type TrueUp } from '../../src/policy/background-true-ups.js';
import { usageEstimate } from '../../src/policy/unreported-usage.js';
import { NOW } from './support.js';

/**
 * Edge remembers a bounded number of background responses (background-responses.ts). A flood of cheap background
 * requests from one key must not crowd out another key's entries: each key holds at most a tenth of the bound, and
 * a key over its share gives up its own oldest. The bound on all keys still gives up the oldest of any.
 */

const job = (keyId: string): BackgroundJob => ({
  target: {
    keyId, keyLabel: keyId, pricing: {}, thresholds: [], provider: 'openai', model: 'gpt-4.1',
    request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
    target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, app: 'probe',
  },
  windows: [], promptTokens: 100, outputTokens: 0,
});

let held: BackgroundResponses | undefined;
afterEach(() => held?.giveUpAll());

function remembering(maxPending: number): { background: BackgroundResponses; givenUp: string[] } {
  const givenUp: string[] = [];
  held = new BackgroundResponses({ maxPending, onGivenUp: (id) => givenUp.push(id) });
  return { background: held, givenUp };
}

it('one key\'s flood gives up its own oldest entries, never another key\'s', () => {
  const { background, givenUp } = remembering(100);
  expect(background.remember('openai', 'resp_expensive', job('vk-a'))).toBe(true);
  for (let i = 0; i < 1000; i++) background.remember('openai', `resp_cheap_${i}`, job('vk-b'));
  // vk-b holds its share, ten: its latest.
  expect(background.size).toBe(11);
  expect(givenUp).toHaveLength(990);
  expect(givenUp.slice(0, 3)).toEqual(['resp_cheap_0', 'resp_cheap_1', 'resp_cheap_2']);
  expect(givenUp).not.toContain('resp_expensive');
  expect(background.take('openai', 'resp_expensive')).toBeDefined();
  expect(background.take('openai', 'resp_cheap_999')).toBeDefined();
  expect(background.take('openai', 'resp_cheap_989')).toBeUndefined();
});

it('a key whose entries were taken has its whole share again; the bound on all keys gives up the oldest of any', () => {
  const { background, givenUp } = remembering(20);
  // Two entries a key: ten keys fill the bound.
  for (let k = 0; k < 10; k++) {
    background.remember('openai', `resp_${k}_0`, job(`vk-${k}`));
    background.remember('openai', `resp_${k}_1`, job(`vk-${k}`));
  }
  expect(givenUp).toEqual([]);
  background.remember('openai', 'resp_new', job('vk-new'));
  expect(givenUp).toEqual(['resp_0_0']);
  expect(background.take('openai', 'resp_1_0')).toBeDefined();
  expect(background.take('openai', 'resp_1_1')).toBeDefined();
  background.remember('openai', 'resp_1_2', job('vk-1'));
  background.remember('openai', 'resp_1_3', job('vk-1'));
  expect(givenUp).toEqual(['resp_0_0']);
});

it('true-ups: a key\'s flood crowds out its own oldest record (to be charged its worst case), another key\'s only past the bound on all', () => {
  const crowded: string[] = [];
  const trueUps = new BackgroundTrueUps({ maxEntries: 4, maxPerKey: 2, onCrowdedOut: (id) => crowded.push(id) });
  const record = (keyId: string, keptAtMs = NOW.getTime()): TrueUp => ({
    target: job(keyId).target, windows: [], usage: usageEstimate(100, 0), costUsd: 0, reason: 'no_usage', worstCaseOutputTokens: 32_768, keptAtMs,
  });
  trueUps.keep('openai', 'resp_a1', record('vk-a'));
  trueUps.keep('openai', 'resp_b1', record('vk-b'));
  trueUps.keep('openai', 'resp_b2', record('vk-b'));
  trueUps.keep('openai', 'resp_b3', record('vk-b'));
  expect(crowded).toEqual(['resp_b1']);
  trueUps.keep('openai', 'resp_c1', record('vk-c'));
  trueUps.keep('openai', 'resp_c2', record('vk-c'));
  // The bound on all keys drops the oldest with its estimate as it stands: not charged up for another key's flood.
  expect(crowded).toEqual(['resp_b1']);
  expect(trueUps.find('openai', 'resp_a1', NOW.getTime())).toBeUndefined();
  expect(trueUps.take('openai', 'resp_b3', NOW.getTime())).toBeDefined();
  // Kept a day: then dropped as charged.
  expect(trueUps.find('openai', 'resp_c1', NOW.getTime() + DEFAULT_TRUE_UP_MAX_AGE_MS + 1)).toBeUndefined();
  expect(trueUps.size).toBe(0);
});
